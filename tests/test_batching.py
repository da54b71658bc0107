"""The batch scheduler, tested directly with a recording engine."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from tarjama_server.batching import BatchScheduler
from tarjama_server.engines.base import Generation, GenerationParams, ModelInfo, Task
from tarjama_server.errors import OverloadedError

INFO = ModelInfo("fake", Task.TRANSLATION, "local", ("ar",), ("en",), "none", "fake", "cpu", 512)


class RecordingEngine:
    info = INFO

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gate = threading.Event()
        self.gate.set()

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 1

    def generate(self, texts: Sequence[str], params: GenerationParams) -> list[Generation]:
        self.gate.wait(10)
        self.batches.append(list(texts))
        return [Generation(text.upper(), 1, 1) for text in texts]


@pytest.fixture
def executor():
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool


async def test_concurrent_requests_share_batches_and_keep_order(executor) -> None:
    engine = RecordingEngine()
    engine.gate.clear()  # hold the first batch so the others queue up behind it
    scheduler = BatchScheduler(engine, executor, max_batch_size=8, max_queued=100)
    scheduler.start()
    params = GenerationParams(num_beams=1)
    first = scheduler.submit(["a"], params)
    await asyncio.sleep(0.05)
    second = scheduler.submit(["b", "c"], params)
    third = scheduler.submit(["d", "e", "f"], params)
    engine.gate.set()
    results = await asyncio.gather(*first, *second, *third)
    assert [r.text for r in results] == ["A", "B", "C", "D", "E", "F"]
    assert engine.batches == [["a"], ["b", "c", "d", "e", "f"]]
    await scheduler.stop()


async def test_jobs_are_only_batched_with_equal_params(executor) -> None:
    engine = RecordingEngine()
    engine.gate.clear()
    scheduler = BatchScheduler(engine, executor, max_batch_size=8, max_queued=100)
    scheduler.start()
    blocker = scheduler.submit(["x"], GenerationParams(num_beams=1))
    await asyncio.sleep(0.05)
    greedy = scheduler.submit(["a", "b"], GenerationParams(num_beams=1))
    beams = scheduler.submit(["c"], GenerationParams(num_beams=4))
    engine.gate.set()
    await asyncio.gather(*blocker, *greedy, *beams)
    assert engine.batches == [["x"], ["a", "b"], ["c"]]
    await scheduler.stop()


async def test_full_queue_refuses_the_whole_request(executor) -> None:
    engine = RecordingEngine()
    engine.gate.clear()
    scheduler = BatchScheduler(engine, executor, max_batch_size=1, max_queued=3)
    scheduler.start()
    params = GenerationParams(num_beams=1)
    accepted = scheduler.submit(["a", "b", "c"], params)
    with pytest.raises(OverloadedError, match="queue is full"):
        scheduler.submit(["d", "e"], params)
    await asyncio.sleep(0.05)  # the worker took "a": one slot is free again
    assert scheduler.queued == 2
    engine.gate.set()
    assert [r.text for r in await asyncio.gather(*accepted)] == ["A", "B", "C"]
    await scheduler.stop()


async def test_cancelled_jobs_are_withdrawn(executor) -> None:
    engine = RecordingEngine()
    engine.gate.clear()
    scheduler = BatchScheduler(engine, executor, max_batch_size=8, max_queued=100)
    scheduler.start()
    params = GenerationParams(num_beams=1)
    running = scheduler.submit(["a"], params)
    await asyncio.sleep(0.05)
    abandoned = scheduler.submit(["b", "c"], params)
    kept = scheduler.submit(["d"], params)
    for future in abandoned:
        future.cancel()
    engine.gate.set()
    await asyncio.gather(*running, *kept)
    assert engine.batches == [["a"], ["d"]]
    await scheduler.stop()


async def test_engine_failure_reaches_every_waiting_request(executor) -> None:
    class Broken(RecordingEngine):
        def generate(self, texts, params):
            raise RuntimeError("boom")

    scheduler = BatchScheduler(Broken(), executor, max_batch_size=8, max_queued=100)
    scheduler.start()
    futures = scheduler.submit(["a", "b"], GenerationParams())
    for future in futures:
        with pytest.raises(RuntimeError, match="boom"):
            await future
    # and the worker keeps serving
    scheduler.engine = RecordingEngine()
    assert (await scheduler.submit(["z"], GenerationParams())[0]).text == "Z"
    await scheduler.stop()
