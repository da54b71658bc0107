"""Performance benchmark: the engines and the server on a plain CPU.

    python bench/perf.py                       # everything, about 15 minutes on 2 cores
    python bench/perf.py --clients 1,4 --engines ctranslate2 --skip-summarize   # a quick look

It builds random-weight models of the exact architectures (opus-mt-ar-en: d_model 512,
6+6 layers, vocabulary 62,834; mT5-base as XLSum: d_model 768, 12+12 layers,
vocabulary 250,112, own output layer) with end-of-sequence suppressed, so every
segment decodes exactly ``--max-new-tokens`` tokens and random weights do the work
that real ones do. Then, in one run on one machine:

* the raw engines on the seed article's segments: batch 1 one after another (naive)
  and batch 16, transformers fp32 and CTranslate2 int8; transformers on the main
  thread and on a worker thread (as the server runs it);
* the real server (``tarjama-server``, repetition guard off) on each engine, driven
  over gRPC by 1, 4 and 16 concurrent clients sending the seed article: output tokens
  a second, p50/p95 latency, time to the first streamed segment alone and under
  16-client load, the padding ratio of its batches, Summarize of the seed to English
  (card lengths forced) and the server's peak RSS.

The trust figures (issue 14; ``--trust-only`` runs just these, into ``trust.json`` and
``trust.md``): the cost of returning scores (each engine, batch 16, beam 4, with and without
scores, alternating), and a server with its result cache on sending the seed article
uncached, then again (cached).

It writes ``perf.json``, ``perf.md`` (the tables) and ``perf.png`` (throughput and
latency against concurrency) under ``--out``. A benchmark, not a test: it prints
figures and checks nothing. The models are untrained: the figures measure cost,
never quality.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "000_72c42d5ea82af53c.txt"
REFERENCE = ROOT / "seeds" / "000_72c42d5ea82af53c.reference.en.txt"
ENGINES = ("transformers", "ctranslate2")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import free_port, percentile  # noqa: E402  (the load tool's helpers, beside this file)


def build_models(directory: Path, summarizer: bool = True) -> tuple[Path, Path]:
    """Random weights of the exact architectures, end-of-sequence suppressed (built once;
    the summarizer only when ``summarizer``)."""
    from tarjama_server.loading.tiny_models import MT5_BASE, OPUS_MT_AR_EN, build_tiny_marian, build_tiny_mt5

    source, target = SEED.read_text(encoding="utf-8"), REFERENCE.read_text(encoding="utf-8")
    marian, mt5 = directory / "opus-mt-ar-en-random", directory / "mt5-base-random"
    if not (marian / "model.safetensors").is_file():
        print(f"building {marian} ...", flush=True)
        build_tiny_marian(marian, source, target, vocab_size=2000, stop="never", architecture=OPUS_MT_AR_EN)
    if summarizer and not (mt5 / "model.safetensors").is_file():
        print(f"building {mt5} ...", flush=True)
        build_tiny_mt5(mt5, source + "\n" + target, vocab_size=2000, stop="never", architecture=MT5_BASE)
    return marian, mt5


def seed_segments(engine: Any) -> list[str]:
    from tarjama_server.text.segmentation import segment

    return [span.text for span in segment(SEED.read_text(encoding="utf-8"), engine.count_tokens, 256)]


def padding_ratio(input_tokens: list[int]) -> float:
    """Share of a padded batch's input positions that are padding."""
    return 1 - sum(input_tokens) / (len(input_tokens) * max(input_tokens)) if input_tokens else 0.0


def raw_engines(marian: Path, engines: list[str], max_new_tokens: int, converted: Path) -> dict[str, Any]:
    """Output tokens a second of each engine alone, batch 1 (naive) and batch 16."""
    from tarjama_server.engines.base import GenerationParams, Task
    from tarjama_server.loading.hub import resolve_model
    from tarjama_server.loading.loader import load_engine

    params = GenerationParams(num_beams=4, max_new_tokens=max_new_tokens)
    results: dict[str, Any] = {}
    for name in engines:
        engine = load_engine(
            resolve_model(str(marian)), Task.TRANSLATION, ("ar",), ("en",), "cpu", engine=name,
            converted_dir=str(converted), threads=os.cpu_count() or 2,
        )  # fmt: skip
        segments = seed_segments(engine)
        engine.generate(segments[:2], params)  # warm-up
        started = time.perf_counter()
        naive = [engine.generate([text], params)[0] for text in segments]
        naive_seconds = time.perf_counter() - started
        batch = segments[:16]
        started = time.perf_counter()
        batched = engine.generate(batch, params)
        batch_seconds = time.perf_counter() - started
        results[name] = {
            "naive_batch1_tok_s": sum(g.output_tokens for g in naive) / naive_seconds,
            "batch16_tok_s": sum(g.output_tokens for g in batched) / batch_seconds,
            "batch16_seconds": batch_seconds,
            "batch16_padding_ratio": padding_ratio([g.input_tokens for g in batched]),
            "one_segment_seconds": naive_seconds / len(segments),
        }
        if name == "transformers":
            results[name]["threading"] = threading_gap(engine, batch, params)
        print(f"raw {name}: {json.dumps(results[name], default=round)}", flush=True)
        del engine
        gc.collect()
    return results


def threading_gap(engine: Any, batch: list[str], params: Any, rounds: int = 3) -> dict[str, Any]:
    """The same batch on the main thread and on a worker thread (as the server runs it), alternating."""
    import torch

    main_seconds, worker_seconds = [], []
    with ThreadPoolExecutor(1) as worker:
        worker_threads = worker.submit(torch.get_num_threads).result()
        for _ in range(rounds):
            started = time.perf_counter()
            engine.generate(batch, params)
            main_seconds.append(time.perf_counter() - started)
            started = time.perf_counter()
            worker.submit(engine.generate, batch, params).result()
            worker_seconds.append(time.perf_counter() - started)
    return {
        "main_seconds": main_seconds,
        "worker_seconds": worker_seconds,
        "main_threads": torch.get_num_threads(),
        "worker_threads": worker_threads,
        "worker_over_main": statistics.median(worker_seconds) / statistics.median(main_seconds),
    }


def score_cost(
    marian: Path, engines: list[str], max_new_tokens: int, converted: Path, rounds: int = 4
) -> dict[str, Any]:
    """Output tokens a second of each engine on one batch of 16, with and without scores, alternating:
    per wall-clock second, and per CPU second of this process (all its threads), which other work
    on a busy machine disturbs far less. And the peak memory scoring adds (the first scored batch
    after an unscored one)."""
    import dataclasses
    import resource

    from tarjama_server.engines.base import GenerationParams, Task
    from tarjama_server.loading.hub import resolve_model
    from tarjama_server.loading.loader import load_engine

    scored = GenerationParams(num_beams=4, max_new_tokens=max_new_tokens)
    plain = dataclasses.replace(scored, scores=False)
    results: dict[str, Any] = {}
    for name in engines:
        engine = load_engine(
            resolve_model(str(marian)), Task.TRANSLATION, ("ar",), ("en",), "cpu", engine=name,
            converted_dir=str(converted), threads=os.cpu_count() or 2,
        )  # fmt: skip
        batch = seed_segments(engine)[:16]
        engine.generate(batch[:2], scored)  # warm-up
        rates: dict[str, list[float]] = {"with": [], "without": []}
        cpu_rates: dict[str, list[float]] = {"with": [], "without": []}
        peaks: dict[str, int] = {}
        for _ in range(rounds):
            for label, params in (("without", plain), ("with", scored)):
                started, cpu_started = time.perf_counter(), time.process_time()
                output = engine.generate(batch, params)
                tokens = sum(g.output_tokens for g in output)
                rates[label].append(tokens / (time.perf_counter() - started))
                cpu_rates[label].append(tokens / (time.process_time() - cpu_started))
                peaks.setdefault(label, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        with_scores, without = statistics.median(rates["with"]), statistics.median(rates["without"])
        cpu_with, cpu_without = statistics.median(cpu_rates["with"]), statistics.median(cpu_rates["without"])
        results[name] = {
            "with_scores_tok_s": with_scores,
            "without_scores_tok_s": without,
            "slowdown": 1 - with_scores / without,
            "with_scores_tok_per_cpu_s": cpu_with,
            "without_scores_tok_per_cpu_s": cpu_without,
            "cpu_slowdown": 1 - cpu_with / cpu_without,
            "scoring_peak_rss_mib": (peaks["with"] - peaks["without"]) / 1024,
            "samples": rates,
            "cpu_samples": cpu_rates,
        }
        print(f"scores on {name}: {json.dumps(results[name], default=round)}", flush=True)
        del engine
        gc.collect()
    return results


def cache_latency(server: Server, max_new_tokens: int, rounds: int = 3) -> dict[str, Any]:
    """The seed article uncached, then again from the cache; each round decodes with another
    token cap, so its first call misses."""
    from tarjama_client import DecodingOptions, TarjamaClient

    article = SEED.read_text(encoding="utf-8")
    uncached: list[float] = []
    cached: list[float] = []
    with TarjamaClient(server.address, timeout=3600) as client:
        client.translate("تسخين.")  # warm-up
        for round_ in range(rounds):
            options = DecodingOptions(num_beams=4, max_new_tokens=max_new_tokens - round_)
            for seconds in (uncached, cached):
                started = time.perf_counter()
                client.translate(article, options=options)
                seconds.append(time.perf_counter() - started)
    uncached_s, cached_s = statistics.median(uncached), statistics.median(cached)
    results = {
        "uncached_s": uncached_s,
        "cached_s": cached_s,
        "cached_over_uncached": cached_s / uncached_s,
        "samples": {"uncached": uncached, "cached": cached},
    }
    print(f"  cache: {json.dumps(results, default=lambda x: round(x, 4))}", flush=True)
    return results


def trust_report(results: dict[str, Any], out: Path) -> str:
    lines = [
        "| engine | tok/s with scores | tok/s without | slowdown | tok per CPU-s with / without | CPU slowdown "
        "| peak RSS added | article uncached | article cached |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, cost in results["scores"].items():
        cache = results["cache"].get(name, {})
        lines.append(
            f"| {name} | {cost['with_scores_tok_s']:.0f} | {cost['without_scores_tok_s']:.0f} | "
            f"{cost['slowdown']:.1%} | {cost['with_scores_tok_per_cpu_s']:.1f} / "
            f"{cost['without_scores_tok_per_cpu_s']:.1f} | {cost['cpu_slowdown']:.1%} | "
            f"{cost['scoring_peak_rss_mib']:.0f} MiB | {cache.get('uncached_s', 0) * 1000:.0f} ms | "
            f"{cache.get('cached_s', 0) * 1000:.1f} ms |"
        )
    table = "\n".join(lines)
    (out / "trust.md").write_text(table + "\n")
    return table


def convert_ahead(marian: Path, mt5: Path, converted: Path) -> None:
    from tarjama_server.loading.conversion import convert_model
    from tarjama_server.loading.hub import resolve_model

    for model in (marian, mt5):
        convert_model(resolve_model(str(model)), "int8", converted)


class Server:
    """``tarjama-server`` in a subprocess on a free loopback port."""

    def __init__(
        self, marian: Path, mt5: Path | None, engine: str, converted: Path, log: Path, cache_bytes: int = 0
    ) -> None:
        self.port, self.metrics_port = free_port(), free_port()
        command = [
            sys.executable, "-m", "tarjama_server.app", "--port", str(self.port),
            "--metrics-port", str(self.metrics_port), "--translation-model", str(marian),
            "--summarization-model", str(mt5 or "none"), "--translation-engine", engine,
            "--summarization-engine", engine,
            "--ctranslate2-dir", str(converted), "--no-repetition-guard", "--offline", "--device", "cpu",
            "--max-queue-seconds", "100000", "--assumed-tokens-per-second", "100",  # no start-up calibration
            # The throughput figures send the same article again and again: no cache there.
            "--cache-bytes", str(cache_bytes),
        ]  # fmt: skip
        self._log = log.open("wb")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)
        self.address = f"127.0.0.1:{self.port}"

    def wait(self, timeout: float = 1800) -> None:
        from tarjama_client import TarjamaClient, TarjamaError

        deadline = time.monotonic() + timeout
        with TarjamaClient(self.address) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the server exited with {self.process.returncode}; see {self._log.name}")
                try:
                    if client.health(timeout=5) == "SERVING":
                        return
                except TarjamaError:
                    pass
                time.sleep(1)
        raise TimeoutError("the server did not become ready")

    def metric(self, name: str) -> float:
        """The sum of a Prometheus counter's samples (0 when the server has none)."""
        body = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=30).read().decode()
        return sum(float(line.split()[-1]) for line in body.splitlines() if line.startswith(name))

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=120)
        self._log.close()


def drive(server: Server, clients: list[int], max_new_tokens: int, summarize: bool) -> dict[str, Any]:
    from tarjama_client import DecodingOptions, TarjamaClient

    article = SEED.read_text(encoding="utf-8")
    options = DecodingOptions(num_beams=4, max_new_tokens=max_new_tokens)
    results: dict[str, Any] = {"concurrency": {}}
    with TarjamaClient(server.address, timeout=3600) as client:
        client.translate("تسخين.", options=options)  # warm-up

        def one(_: int) -> tuple[float, int]:
            started = time.perf_counter()
            output_tokens = client.translate(article, options=options).usage.output_tokens
            return time.perf_counter() - started, output_tokens

        for count in clients:
            started = time.perf_counter()
            with ThreadPoolExecutor(count) as pool:
                done = list(pool.map(one, range(count)))
            wall = time.perf_counter() - started
            latencies = [seconds for seconds, _ in done]
            results["concurrency"][count] = {
                "output_tok_s": sum(tokens for _, tokens in done) / wall,
                "p50_s": percentile(latencies, 0.5),
                "p95_s": percentile(latencies, 0.95),
                "wall_s": wall,
            }
            print(f"  {count} clients: {json.dumps(results['concurrency'][count], default=round)}", flush=True)

        def first_segment() -> tuple[float, float]:
            started = time.perf_counter()
            first = 0.0
            for _ in client.stream_translate(article, options=options):
                first = first or time.perf_counter() - started
            return first, time.perf_counter() - started

        first, total = first_segment()
        results["first_segment_alone_s"], results["stream_alone_total_s"] = first, total
        with ThreadPoolExecutor(16) as pool:
            load = [pool.submit(one, index) for index in range(16)]
            # Let the 16 requests reach the queue before the newcomer (a benchmark, not a test).
            time.sleep(1.0)
            first, total = first_segment()
            for future in load:
                future.result()
        results["first_segment_under_16_s"], results["stream_under_16_total_s"] = first, total
        results["first_segment_under_16_share"] = first / total
        print(f"  first segment: alone {results['first_segment_alone_s']:.2f}s, under 16: {first:.2f}s of {total:.2f}s")
        if summarize:
            started = time.perf_counter()
            summary = client.summarize(article, summary_language="en", max_summary_tokens=84)
            results["summarize_en_s"] = time.perf_counter() - started
            results["summarize_method"] = summary.method
            print(f"  Summarize en: {results['summarize_en_s']:.1f}s ({summary.method})", flush=True)
    padded = server.metric('tarjama_padded_input_tokens_total{task="translation"}')
    real = server.metric('tarjama_tokens_total{direction="input",task="translation"}')  # labels sort by name
    results["padding_ratio"] = 1 - real / padded if padded else None
    results["peak_rss_mib"] = server.peak_rss_mib()
    return results


def report(results: dict[str, Any], out: Path) -> str:
    lines = [
        "| what | output tok/s | p50 s | p95 s |",
        "|---|---|---|---|",
    ]
    for name, raw in results["raw"].items():
        lines.append(f"| raw {name}, batch 1 one after another (naive) | {raw['naive_batch1_tok_s']:.0f} | | |")
        lines.append(f"| raw {name}, batch 16 | {raw['batch16_tok_s']:.0f} | | |")
    for name, server in results["servers"].items():
        for count, figures in server["concurrency"].items():
            lines.append(
                f"| server on {name}, {count} clients | {figures['output_tok_s']:.0f} | "
                f"{figures['p50_s']:.1f} | {figures['p95_s']:.1f} |"
            )
    lines += [
        "",
        "| server | first segment alone | one segment alone | first segment under 16 clients (share of its total) "
        "| Summarize en | padding | peak RSS |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, server in results["servers"].items():
        raw = results["raw"].get(name, {})
        padding = server.get("padding_ratio")
        lines.append(
            f"| {name} | {server['first_segment_alone_s']:.2f} s | {raw.get('one_segment_seconds', 0):.2f} s | "
            f"{server['first_segment_under_16_s']:.1f} s ({server['first_segment_under_16_share']:.0%}) | "
            f"{server.get('summarize_en_s', 0):.1f} s | {'n/a' if padding is None else f'{padding:.0%}'} | "
            f"{server['peak_rss_mib']:.0f} MiB |"
        )
    table = "\n".join(lines)
    (out / "perf.md").write_text(table + "\n")
    return table


def plot(results: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (throughput, latency) = plt.subplots(1, 2, figsize=(10, 4))
    for name, server in results["servers"].items():
        counts = sorted(server["concurrency"], key=int)
        throughput.plot(counts, [server["concurrency"][c]["output_tok_s"] for c in counts], marker="o", label=name)
        latency.plot(counts, [server["concurrency"][c]["p50_s"] for c in counts], marker="o", label=f"{name} p50")
        latency.plot(
            counts, [server["concurrency"][c]["p95_s"] for c in counts], marker="x", ls="--", label=f"{name} p95"
        )
    throughput.set(xlabel="concurrent clients", ylabel="output tokens / s", title="Throughput")
    latency.set(xlabel="concurrent clients", ylabel="seconds per article", title="Latency")
    for axes in (throughput, latency):
        axes.legend()
        axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(out / "perf.png", dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--models", type=Path, default=ROOT / ".bench-models", help="built here once, reused")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--skip-raw", action="store_true")
    parser.add_argument("--skip-summarize", action="store_true")
    parser.add_argument("--trust-only", action="store_true", help="only the cost of scores and the cache's latency")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    engines = [name for name in args.engines.split(",") if name]
    clients = [int(count) for count in args.clients.split(",")]
    marian, mt5 = build_models(args.models, summarizer=not args.trust_only)
    converted = args.models / "ctranslate2"
    if args.trust_only:
        trust(args, engines, marian, converted)
        return
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "platform": sys.platform},
        "max_new_tokens": args.max_new_tokens,
        "raw": {} if args.skip_raw else raw_engines(marian, engines, args.max_new_tokens, converted),
        "servers": {},
    }
    for name in engines:
        if name == "ctranslate2":  # ahead of time, as `tarjama-models convert` and the image do
            convert_ahead(marian, mt5, converted)
        print(f"server on {name} ...", flush=True)
        server = Server(marian, mt5, name, converted, args.out / f"server-{name}.log")
        try:
            server.wait()
            results["servers"][name] = drive(server, clients, args.max_new_tokens, not args.skip_summarize)
        finally:
            server.stop()
    (args.out / "perf.json").write_text(json.dumps(results, indent=2))
    print(report(results, args.out))
    plot(results, args.out)
    print(f"\nwritten: {args.out / 'perf.json'}, {args.out / 'perf.md'}, {args.out / 'perf.png'}")


def trust(args: argparse.Namespace, engines: list[str], marian: Path, converted: Path) -> None:
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "platform": sys.platform},
        "max_new_tokens": args.max_new_tokens,
        "scores": score_cost(marian, engines, args.max_new_tokens, converted),
        "cache": {},
    }
    for name in engines:
        # Translation only: no summarizer to build or load.
        server = Server(marian, None, name, converted, args.out / f"server-{name}-cache.log", cache_bytes=64 << 20)
        try:
            server.wait()
            results["cache"][name] = cache_latency(server, args.max_new_tokens)
        finally:
            server.stop()
    (args.out / "trust.json").write_text(json.dumps(results, indent=2))
    print(trust_report(results, args.out))


if __name__ == "__main__":
    main()
