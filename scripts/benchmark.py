"""Measure the service end to end through the real client, and print the figures.

    python scripts/benchmark.py                          # real models (must be cached)
    python scripts/benchmark.py --tiny-models .tiny-models  # plumbing only: UNTRAINED models
    python scripts/benchmark.py --server host:port       # an already running server

Figures: Translate latency of the seed article, throughput with concurrent
clients, StreamTranslate time to first segment, Summarize latency (en and ar),
and, for trained models, chrF and BLEU of the translation against the seed's
reference (needs sacrebleu: pip install -r requirements-dev.txt).
"""

from __future__ import annotations

import argparse
import functools
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from tarjama_client import TarjamaClient

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT / "seeds" / "000_72c42d5ea82af53c.txt"
REFERENCE = ROOT / "seeds" / "000_72c42d5ea82af53c.reference.en.txt"


def timed(function: Callable[[], T], repeats: int) -> tuple[list[float], T]:
    """Seconds of each of ``repeats`` calls (at least one), and the last result."""
    seconds: list[float] = []
    while True:
        started = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - started)
        if len(seconds) >= repeats:
            return seconds, result


def describe(seconds: list[float]) -> str:
    median = statistics.median(seconds)
    return f"median {median:.2f}s  min {min(seconds):.2f}s  max {max(seconds):.2f}s  (n={len(seconds)})"


def start_server(args: argparse.Namespace) -> tuple[subprocess.Popen[bytes], str]:
    port = args.port
    command = [sys.executable, "-m", "tarjama_server.app", "--port", str(port), "--metrics-port", "0"]
    if args.tiny_models:
        tiny = Path(args.tiny_models)
        if not (tiny / "marian-ar-en").is_dir():
            subprocess.run([sys.executable, "-m", "tarjama_server.loading.cli", "build-tiny", str(tiny)], check=True)
        command += [
            "--translation-model",
            str(tiny / "marian-ar-en"),
            "--summarization-model",
            str(tiny / "mt5-summarizer"),
        ]
    else:
        command += ["--offline"]
    command += args.server_args
    log = None if args.verbose else subprocess.DEVNULL
    return subprocess.Popen(command, stderr=log), f"127.0.0.1:{port}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", help="benchmark a running server instead of starting one")
    parser.add_argument("--tiny-models", help="start the server on tiny UNTRAINED models in this directory")
    parser.add_argument("--port", type=int, default=50071)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--skip-summarize", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="show the server log")
    parser.add_argument("server_args", nargs="*", help="extra tarjama-server flags (after --)")
    args = parser.parse_args()

    article = ARTICLE.read_text(encoding="utf-8")
    process = None
    address = args.server
    if not address:
        process, address = start_server(args)
    try:
        with TarjamaClient(address, timeout=1800) as client:
            started = time.perf_counter()
            client.wait_until_ready(timeout=1800)
            if process:
                print(f"server ready in {time.perf_counter() - started:.1f}s")
            models = client.list_models()
            untrained = any(m.untrained for m in models)
            for model in models:
                print(f"{model.task}: {model.id}@{model.revision} ({model.engine}, {model.device})")
            if untrained:
                print("!! UNTRAINED models: these figures measure the plumbing, not real model cost or quality !!")
            print(f"article: {len(article)} characters, {len(article.split())} words")

            client.translate("تسخين.")  # warm-up
            seconds, result = timed(lambda: client.translate(article), args.repeats)
            translation = result.translations[0]
            print(f"\nTranslate (seed article, {len(translation.segments)} segments): {describe(seconds)}")
            print(
                f"  tokens in/out {result.usage.input_tokens}/{result.usage.output_tokens}, "
                f"{result.usage.output_tokens / statistics.median(seconds):.1f} output tokens/s"
            )

            first = []
            for _ in range(args.repeats):
                started = time.perf_counter()
                stream = client.stream_translate(article)
                next(iter(stream))
                first.append(time.perf_counter() - started)
                for _ in stream:
                    pass
            print(f"StreamTranslate time to first segment: {describe(first)}")

            def one(_: int) -> int:
                return client.translate(article).usage.output_tokens

            started = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                tokens = sum(pool.map(one, range(args.concurrency * 2)))
            elapsed = time.perf_counter() - started
            print(
                f"{args.concurrency} concurrent clients, {args.concurrency * 2} articles: {elapsed:.2f}s, "
                f"{args.concurrency * 2 / elapsed * 60:.1f} articles/min, {tokens / elapsed:.1f} output tokens/s"
            )

            if not args.skip_summarize:
                for language in ("ar", "en"):
                    seconds, summary = timed(functools.partial(client.summarize, article, summary_language=language), 1)
                    print(f"Summarize ({language}, {summary.method}): {describe(seconds)}")
                    if not untrained:
                        print(f"  {summary.summary}")

            if not untrained:
                try:
                    import sacrebleu
                except ImportError:
                    print("\n(sacrebleu not installed: no chrF/BLEU)")
                else:
                    reference = REFERENCE.read_text(encoding="utf-8")
                    hypothesis = translation.text
                    chrf = sacrebleu.corpus_chrf([hypothesis], [[reference]]).score
                    bleu = sacrebleu.corpus_bleu([hypothesis], [[reference]]).score
                    print(f"\nquality vs reference: chrF {chrf:.1f}, BLEU {bleu:.1f}")
    finally:
        if process:
            process.terminate()
            process.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
