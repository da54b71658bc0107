"""Performance benchmark: the engines and the server on a plain CPU.

    python bench/perf.py                       # everything, about 20 minutes on 2 cores
    python bench/perf.py --clients 1,4 --engines ctranslate2 --skip-summarize   # a quick look

It builds random-weight models of the exact architectures (opus-mt-ar-en: d_model 512,
6+6 layers, vocabulary 62,834; mT5-base as XLSum: d_model 768, 12+12 layers,
vocabulary 250,112, own output layer) with end-of-sequence suppressed, so every
segment decodes exactly ``--max-new-tokens`` tokens and random weights do the work
that real ones do. Then, in one run on one machine:

* the raw engines on the seed article's segments: batch 1 one after another (naive)
  and batch 16, transformers fp32 and CTranslate2 int8; transformers on the main
  thread and on a worker thread (as the server runs it);
* the raw layouts on all 20 segments, just before and just after the CTranslate2
  server: one batch on every core, against one sorted batch per core at once
  (``--workers``; CTranslate2 asynchronous or a thread each, transformers a thread
  each), and the server's ratio to the best of them; then, with the CTranslate2 server
  still up, ``--side-by-side`` rounds of the raw layouts each followed at once by 16
  clients on the server, each round's ratio from figures a minute apart;
* the real server (``tarjama-server``, repetition guard off, its default model workers)
  on each engine, driven over gRPC by 1, 4 and 16 concurrent clients sending the seed
  article: output tokens a second, p50/p95 latency, time to the first streamed segment
  alone and under 16-client load, the padding ratio of its batches, Summarize of the
  seed to English (card lengths forced) and the server's peak RSS; and the CTranslate2
  server once more on one model worker, at 16 clients (throughput and peak RSS).

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
from load import free_port, percentile, server_command  # noqa: E402  (the load tool's helpers, beside this file)


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


def translation_engine(marian: Path, name: str, converted: Path) -> Any:
    """The benchmark's translation model on engine ``name``, with every core to itself."""
    from tarjama_server.engines.base import Task
    from tarjama_server.loading.hub import resolve_model
    from tarjama_server.loading.loader import load_engine

    return load_engine(
        resolve_model(str(marian)), Task.TRANSLATION, ("ar",), ("en",), "cpu", engine=name,
        converted_dir=str(converted), threads=os.cpu_count() or 2,
    )  # fmt: skip


def raw_engines(marian: Path, engines: list[str], max_new_tokens: int, converted: Path) -> dict[str, Any]:
    """Output tokens a second of each engine alone, batch 1 (naive) and batch 16."""
    from tarjama_server.engines.base import GenerationParams

    params = GenerationParams(num_beams=4, max_new_tokens=max_new_tokens)
    results: dict[str, Any] = {}
    for name in engines:
        engine = translation_engine(marian, name, converted)
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


def sorted_chunks(items: list[Any], key: Any, count: int) -> list[list[Any]]:
    """``items`` sorted by ``key`` and cut into ``count`` contiguous batches of near-equal size
    (similar lengths in each: little padding)."""
    ordered = sorted(items, key=key)
    size, extra = divmod(len(ordered), count)
    chunks, start = [], 0
    for index in range(count):
        end = start + size + (index < extra)
        chunks.append(ordered[start:end])
        start = end
    return [chunk for chunk in chunks if chunk]


def raw_layouts(
    marian: Path, max_new_tokens: int, converted: Path, workers: int, *, rounds: int, transformers_rounds: int
) -> dict[str, list[float]]:
    """Output tokens a second of the raw engines on all the seed's segments in each layout,
    alternating, ``rounds`` times (transformers ``transformers_rounds`` times: minutes a run):
    one batch on every core, against one sorted batch per worker at once (CTranslate2:
    ``inter_threads=N, intra_threads=cores/N``, asynchronous ``translate_batch`` or one Python
    thread per batch as the server does; transformers: N threads, torch's process-wide
    threads cores/N)."""
    import ctranslate2
    import torch
    from tarjama_server.engines.base import GenerationParams, Task
    from tarjama_server.loading.conversion import convert_model
    from tarjama_server.loading.hub import resolve_model
    from tarjama_server.loading.loader import load_engine, usable_cores

    cores = usable_cores()
    resolved = resolve_model(str(marian))
    model_dir = str(convert_model(resolved, "int8", converted))
    params = GenerationParams(num_beams=4, max_new_tokens=max_new_tokens)
    reference: Any = load_engine(resolved, Task.TRANSLATION, ("ar",), ("en",), "cpu", engine="transformers")
    tokenizer = reference.tokenizer
    segments = seed_segments(reference)
    sources = [tokenizer.convert_ids_to_tokens(ids) for ids in tokenizer(segments)["input_ids"]]
    options = {
        "beam_size": 4, "max_decoding_length": max_new_tokens, "min_decoding_length": 0,
        "return_end_token": True, "max_input_length": 0,
    }  # fmt: skip
    one = ctranslate2.Translator(model_dir, device="cpu", compute_type="int8", inter_threads=1, intra_threads=cores)
    many = ctranslate2.Translator(
        model_dir, device="cpu", compute_type="int8", inter_threads=workers, intra_threads=max(1, cores // workers)
    )
    chunks = sorted_chunks(sources, len, workers)
    text_chunks = sorted_chunks(segments, reference.count_tokens, workers)
    pool = ThreadPoolExecutor(workers)

    def tokens(results: list[Any]) -> int:
        return sum(len(result.hypotheses[0]) for result in results)

    def ct2_one() -> int:
        return tokens(one.translate_batch(sources, **options))

    def ct2_sorted_in_turn() -> int:
        return sum(tokens(one.translate_batch(chunk, **options)) for chunk in chunks)

    def ct2_async() -> int:
        pending = [many.translate_batch(chunk, asynchronous=True, **options) for chunk in chunks]
        return tokens([result.result() for batch in pending for result in batch])

    def ct2_threads() -> int:
        return sum(pool.map(lambda chunk: tokens(many.translate_batch(chunk, **options)), chunks))

    def torch_one() -> int:
        torch.set_num_threads(cores)
        return sum(g.output_tokens for g in reference.generate(segments, params))

    def torch_threads() -> int:
        torch.set_num_threads(max(1, cores // workers))
        batches = pool.map(lambda chunk: reference.generate(chunk, params), text_chunks)
        return sum(g.output_tokens for batch in batches for g in batch)

    layouts = {
        "ctranslate2, one batch on every core": (ct2_one, rounds),
        f"ctranslate2, {workers} sorted batches one after another, each on every core": (ct2_sorted_in_turn, rounds),
        f"ctranslate2, {workers} sorted batches at once (asynchronous)": (ct2_async, rounds),
        f"ctranslate2, {workers} sorted batches at once (a thread each, as the server)": (ct2_threads, rounds),
        "transformers, one batch on every core": (torch_one, transformers_rounds),
        f"transformers, {workers} sorted batches at once (a thread each)": (torch_threads, transformers_rounds),
    }
    ct2_one(), ct2_async()  # warm-up
    runs: dict[str, list[float]] = {name: [] for name, (_, count) in layouts.items() if count}
    for round_ in range(rounds):
        for name, (run, count) in layouts.items():
            if round_ < count:
                started = time.perf_counter()
                produced = run()
                runs[name].append(produced / (time.perf_counter() - started))
                print(f"raw layout {name}: {runs[name][-1]:.0f} tok/s", flush=True)
    torch.set_num_threads(cores)
    pool.shutdown()
    return runs


def best_raw(runs: dict[str, list[float]]) -> tuple[str, float]:
    """The CTranslate2 layout with the highest median, and that median."""
    medians = {name: statistics.median(got) for name, got in runs.items() if name.startswith("ctranslate2")}
    best = max(medians, key=lambda name: medians[name])
    return best, medians[best]


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


def alternating_rates(
    engine: Any, batch: list[str], variants: dict[str, Any], rounds: int
) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, int]]:
    """Output tokens a second of ``engine`` on ``batch`` with each of ``variants`` (label →
    params), alternating, ``rounds`` times: per wall-clock second, and per CPU second of this
    process (all its threads); and the peak memory (KiB) after each variant's first batch."""
    import resource

    rates: dict[str, list[float]] = {label: [] for label in variants}
    cpu_rates: dict[str, list[float]] = {label: [] for label in variants}
    peaks: dict[str, int] = {}
    for _ in range(rounds):
        for label, params in variants.items():
            started, cpu_started = time.perf_counter(), time.process_time()
            output = engine.generate(batch, params)
            tokens = sum(g.output_tokens for g in output)
            rates[label].append(tokens / (time.perf_counter() - started))
            cpu_rates[label].append(tokens / (time.process_time() - cpu_started))
            peaks.setdefault(label, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return rates, cpu_rates, peaks


def score_cost(
    marian: Path, engines: list[str], max_new_tokens: int, converted: Path, rounds: int = 4
) -> dict[str, Any]:
    """Output tokens a second of each engine on one batch of 16, with and without scores, alternating:
    per wall-clock second, and per CPU second of this process (all its threads), which other work
    on a busy machine disturbs far less. And the peak memory scoring adds (the first scored batch
    after an unscored one)."""
    import dataclasses

    from tarjama_server.engines.base import GenerationParams

    scored = GenerationParams(num_beams=4, max_new_tokens=max_new_tokens)
    plain = dataclasses.replace(scored, scores=False)
    results: dict[str, Any] = {}
    for name in engines:
        engine = translation_engine(marian, name, converted)
        batch = seed_segments(engine)[:16]
        engine.generate(batch[:2], scored)  # warm-up
        rates, cpu_rates, peaks = alternating_rates(engine, batch, {"without": plain, "with": scored}, rounds)
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
        self,
        marian: Path,
        mt5: Path | None,
        engine: str,
        converted: Path,
        log: Path,
        workers: int = 0,
        cache_bytes: int = 0,
    ) -> None:
        self.port, self.metrics_port = free_port(), free_port()
        command = server_command(self.port, [
            "--metrics-port", str(self.metrics_port), "--translation-model", str(marian),
            "--summarization-model", str(mt5 or "none"), "--translation-engine", engine,
            "--summarization-engine", engine,
            "--ctranslate2-dir", str(converted), "--no-repetition-guard", "--device", "cpu",
            "--max-queue-seconds", "100000", "--assumed-tokens-per-second", "100",  # no start-up calibration
            "--model-workers", str(workers),  # 0: the server's default, one per core
            # The throughput figures send the same article again and again: no cache there.
            "--cache-bytes", str(cache_bytes),
        ])  # fmt: skip
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
        results["engines"] = {model.task: model.engine for model in client.list_models()}  # what ran, workers too

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


def side_by_side(server: Server, marian: Path, args: Any, converted: Path, rounds: int) -> list[dict[str, Any]]:
    """Rounds of the raw layouts, then 16 clients on the running server, one after the other:
    each round's ratio compares figures taken a minute apart at most."""
    from tarjama_client import DecodingOptions, TarjamaClient

    article = SEED.read_text(encoding="utf-8")
    options = DecodingOptions(num_beams=4, max_new_tokens=args.max_new_tokens)
    measured = []
    with TarjamaClient(server.address, timeout=3600) as client:
        for _ in range(rounds):
            runs = raw_layouts(marian, args.max_new_tokens, converted, args.workers, rounds=1, transformers_rounds=0)
            started = time.perf_counter()
            with ThreadPoolExecutor(16) as pool:
                calls = pool.map(lambda _: client.translate(article, options=options).usage.output_tokens, range(16))
                produced = sum(calls)
            server_tok_s = produced / (time.perf_counter() - started)
            best, best_tok_s = best_raw(runs)
            measured.append(
                {"raw": runs, "server_16_tok_s": server_tok_s, "best": best, "ratio": server_tok_s / best_tok_s}
            )
            print(f"  side by side: server {server_tok_s:.0f} tok/s, best raw {best_tok_s:.0f} ({best})", flush=True)
    return measured


def report(results: dict[str, Any], out: Path) -> str:
    lines = [
        "| what | output tok/s | p50 s | p95 s |",
        "|---|---|---|---|",
    ]
    for name, raw in results["raw"].items():
        lines.append(f"| raw {name}, batch 1 one after another (naive) | {raw['naive_batch1_tok_s']:.0f} | | |")
        lines.append(f"| raw {name}, batch 16 | {raw['batch16_tok_s']:.0f} | | |")
    for name, runs in results.get("raw_layouts", {}).items():
        each = ", ".join(f"{value:.0f}" for value in runs)
        median = statistics.median(runs)
        lines.append(f"| raw {name}, all 20 segments (median of {len(runs)}: {each}) | {median:.0f} | | |")
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
        raw = results["raw"].get(name.split(",")[0], {})
        padding = server.get("padding_ratio")
        alone = f"{raw['one_segment_seconds']:.2f} s" if "one_segment_seconds" in raw else "–"
        lines.append(
            f"| {name} | {server['first_segment_alone_s']:.2f} s | {alone} | "
            f"{server['first_segment_under_16_s']:.1f} s ({server['first_segment_under_16_share']:.0%}) | "
            f"{server.get('summarize_en_s', 0):.1f} s | {'n/a' if padding is None else f'{padding:.0%}'} | "
            f"{server['peak_rss_mib']:.0f} MiB |"
        )
    if "best_raw" in results:
        best = results["best_raw"]
        server = results["servers"]["ctranslate2"]
        count = max(server["concurrency"], key=int)
        lines += [
            "",
            f"Server on CTranslate2 at {count} clients against the best raw layout ({best['layout']}): "
            f"{server['concurrency'][count]['output_tok_s']:.0f} / {best['median_tok_s']:.0f} tok/s = "
            f"{best['server_ratio']:.2f}.",
        ]
    for index, round_ in enumerate(results.get("side_by_side", [])):
        raw = "; ".join(f"{name} {got[0]:.0f}" for name, got in round_["raw"].items())
        lines.append(
            f"\nSide by side, round {index + 1}: raw {raw}; then the server at 16 clients "
            f"{round_['server_16_tok_s']:.0f} tok/s: {round_['ratio']:.2f} of the best."
        )
    lines += ["", "Engines: " + "; ".join(f"{name}: {s.get('engines')}" for name, s in results["servers"].items())]
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
    from tarjama_server.loading.loader import usable_cores

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--models", type=Path, default=ROOT / ".bench-models", help="built here once, reused")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--workers", type=int, default=usable_cores(), help="model workers of the raw layouts")
    parser.add_argument("--skip-raw", action="store_true")
    parser.add_argument("--skip-one-worker", action="store_true", help="no CTranslate2 server on one worker")
    parser.add_argument("--skip-summarize", action="store_true")
    parser.add_argument("--side-by-side", type=int, default=3, help="rounds of raw layouts, then the server")
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
        "machine": {"cpus": os.cpu_count(), "usable_cores": usable_cores(), "platform": sys.platform},
        "max_new_tokens": args.max_new_tokens,
        "raw": {} if args.skip_raw else raw_engines(marian, engines, args.max_new_tokens, converted),
        "servers": {},
    }

    def serve(label: str, engine: str, workers: int, counts: list[int]) -> None:
        print(f"server on {label} ...", flush=True)
        server = Server(marian, mt5, engine, converted, args.out / f"server-{engine}-{workers or 'auto'}.log", workers)
        try:
            server.wait()
            results["servers"][label] = drive(server, counts, args.max_new_tokens, not args.skip_summarize)
            if label == "ctranslate2" and args.side_by_side:
                results["side_by_side"] = side_by_side(server, marian, args, converted, args.side_by_side)
        finally:
            server.stop()

    for name in engines:
        if name != "ctranslate2":
            serve(name, name, 0, clients)
            continue
        convert_ahead(marian, mt5, converted)  # ahead of time, as `tarjama-models convert` and the image do
        # The raw layouts just before and just after the server, on the same segments: the machine's
        # other load moves both alike.
        layouts = raw_layouts(marian, args.max_new_tokens, converted, args.workers, rounds=2, transformers_rounds=1)
        serve(name, name, 0, clients)
        after = raw_layouts(marian, args.max_new_tokens, converted, args.workers, rounds=2, transformers_rounds=0)
        for layout, got in after.items():
            layouts[layout] += got
        results["raw_layouts"] = layouts
        best, best_tok_s = best_raw(layouts)
        server_tok_s = results["servers"][name]["concurrency"][max(clients)]["output_tok_s"]
        results["best_raw"] = {"layout": best, "median_tok_s": best_tok_s, "server_ratio": server_tok_s / best_tok_s}
        if not args.skip_one_worker:
            serve(f"{name}, 1 worker", name, 1, [max(clients)])
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
