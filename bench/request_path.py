"""The request path's own CPU cost: the core and a transport's conversions, with the model
taken out. A scripted engine answers every batch at once (no inference), so what the
process spends is the path a call takes: the tarjama.v1 request converted, checked and
admitted, planned (segmentation, language identification, tokens), scheduled and batched,
its outcome applied, the segments scored and the documents rebuilt, the response built,
and the access-log line. Both models' schedulers run on one set of model workers, as in
the server; the result cache is off, so every call does the whole path.

    python bench/request_path.py                 # 200 Translate and 200 StreamTranslate calls, 8 at once
    python bench/request_path.py --rounds 5      # more rounds (the median is printed)

It prints the CPU seconds of this process per call (``time.process_time``: steadier than
wall time on a shared machine) for each RPC, the median of ``--rounds`` rounds after one
warm-up round. A benchmark, not a test: it checks nothing. Run it on two checkouts (the
same virtual environment, ``PYTHONPATH=<checkout>/server:<checkout>/client``) to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tarjama_client.v1 import tarjama_pb2 as pb
from tarjama_server import __file__ as package_file
from tarjama_server.core.admission import Calibration
from tarjama_server.core.context import RequestContext
from tarjama_server.core.limits import RequestLimits, SchedulerLimits
from tarjama_server.core.pipelines import Pipelines
from tarjama_server.core.recipes import TranslationDefaults
from tarjama_server.core.scheduler import Scheduler
from tarjama_server.core.translation import Translator
from tarjama_server.core.workers import WorkerSlots
from tarjama_server.engines.base import Generation, GenerationParams, ModelInfo, Task
from tarjama_server.transport import methods
from tarjama_server.transport.calls import OK, ServerState

SEED = Path(__file__).resolve().parents[1] / "seeds" / "000_72c42d5ea82af53c.txt"
INFO = ModelInfo("instant", Task.TRANSLATION, "local", ("ar",), ("en",), "none", "instant", "cpu", 512, workers=2)


class InstantEngine:
    """Answers at once: each output as long as its input, in words."""

    info = INFO

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 1

    def generate(self, texts: Sequence[str], params: GenerationParams) -> list[Generation]:
        return [Generation("word " * len(text.split()), self.count_tokens(text), len(text.split())) for text in texts]


async def calls(state: ServerState, method: str, count: int, concurrency: int, article: str) -> None:
    gate = asyncio.Semaphore(concurrency)
    request = pb.TranslateRequest(texts=[article])

    async def one() -> None:
        async with gate:
            call = state.begin(method, RequestContext(request_id="bench"))
            if method == "Translate":
                await methods.translate(state, request, call)
            else:
                async for _ in methods.stream_translate(state, request, call):
                    pass
            state.finish(call, OK)

    await asyncio.gather(*(one() for _ in range(count)))


async def measure(args: argparse.Namespace) -> dict[str, list[float]]:
    article = SEED.read_text()
    limits = SchedulerLimits(max_batch_size=16, max_queue_seconds=1e6, max_queued_jobs=100_000)
    with ThreadPoolExecutor(max_workers=2) as executor:
        scheduler = Scheduler(
            InstantEngine(), executor, limits, calibration=Calibration(tokens_per_second=1e6), slots=WorkerSlots(2)
        )
        scheduler.start()
        translator = Translator(scheduler, defaults=TranslationDefaults(), limits=RequestLimits(), cache=None)
        state = ServerState()
        state.pipelines = Pipelines(translator, None)
        figures: dict[str, list[float]] = {"Translate": [], "StreamTranslate": []}
        for round_ in range(args.rounds + 1):  # the first warms up
            for method in figures:
                started = time.process_time()
                await calls(state, method, args.calls, args.concurrency, article)
                if round_:
                    figures[method].append((time.process_time() - started) / args.calls * 1000)
        await scheduler.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200, help="calls per RPC per round")
    parser.add_argument("--concurrency", type=int, default=8, help="calls in flight at once")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds, after one warm-up round")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures = asyncio.run(measure(args))
    medians = {method: statistics.median(values) for method, values in figures.items()}
    if args.json:
        print(json.dumps({"code": str(Path(package_file).parent), "cpu_ms_per_call": medians, "rounds": figures}))
        return
    print(f"code: {Path(package_file).parent}", file=sys.stderr)
    for method, value in medians.items():
        rounds = ", ".join(f"{v:.2f}" for v in figures[method])
        print(f"{method}: {value:.2f} ms of CPU per call (median of rounds: {rounds})")


if __name__ == "__main__":
    main()
