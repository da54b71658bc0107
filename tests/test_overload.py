"""Admission, expiry, port ownership and graceful stop, on a real server over gRPC.

The model is a fake engine that blocks on a threading.Event, so what is queued
ahead is known exactly; throughput is set (``assumed_tokens_per_second``), so
the admission arithmetic is exact. No sleeps order events."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Sequence
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from tarjama_client import (
    AsyncTarjamaClient,
    DeadlineExceededError,
    InvalidRequestError,
    OverloadedError,
    RetryPolicy,
    ServerUnavailableError,
    TarjamaClient,
)
from tarjama_client.v1 import tarjama_pb2 as pb
from tarjama_client.v1 import tarjama_pb2_grpc as pb_grpc
from tarjama_server.app import TarjamaServer
from tarjama_server.engines.base import Generation, GenerationParams, ModelInfo, Task

from .helpers import ServerThread, join, tiny_settings, wait_for, wait_for_async

INFO = ModelInfo("gated", Task.TRANSLATION, "local", ("ar",), ("en",), "none", "fake", "cpu", 512)
NO_RETRY = RetryPolicy.disabled()
# Ten segments of five words: 10 x 6 = 60 input tokens; at the default 2 tokens of
# work per input token and 10 tokens/s, 12 s of work.
ARTICLE = " ".join(f"كلمة{i} اخرى هنا في الجملة." for i in range(10))
ARTICLE_SECONDS = 12.0


class GatedEngine:
    info = INFO

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()
        self.inputs: list[str] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 1

    def generate(self, texts: Sequence[str], params: GenerationParams) -> list[Generation]:
        self.started.set()
        assert self.gate.wait(60), "the test never opened the gate"
        self.inputs.extend(texts)
        return [Generation(f"t{len(text)}", 2, 2) for text in texts]


def gated_server(engine: GatedEngine, models_dir, **overrides: object) -> ServerThread:
    chosen: dict[str, object] = {"assumed_tokens_per_second": 10.0, "max_batch_size": 4, **overrides}
    settings = tiny_settings(models_dir, summarization_model="none", **chosen)
    return ServerThread(settings, lambda _settings: (engine, None)).start()


def wait_until_in_engine(engine: GatedEngine) -> None:
    assert engine.started.wait(60), "the first batch never reached the engine"


def test_refused_at_once_with_a_retry_hint_when_it_cannot_finish_in_time(models_dir) -> None:
    engine = GatedEngine()
    with (
        gated_server(engine, models_dir, max_queue_seconds=20.0) as running,
        TarjamaClient(running.address, retry=NO_RETRY) as client,
        grpc.insecure_channel(running.address) as channel,
    ):
        accepted = threading.Thread(target=client.translate, args=(ARTICLE,))
        accepted.start()
        wait_until_in_engine(engine)  # 12 s of work queued: a second article (24 s) is over the 20 s bound
        with pytest.raises(OverloadedError, match="server busy"):
            client.translate(ARTICLE)
        stub = pb_grpc.TarjamaServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            stub.Translate(pb.TranslateRequest(texts=[ARTICLE]), timeout=60)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        trailers = dict(refused.value.trailing_metadata())
        assert int(trailers["grpc-retry-pushback-ms"]) == pytest.approx(4000, abs=100)
        status = rpc_status.from_call(refused.value)
        retry_info = error_details_pb2.RetryInfo()
        assert status.details[0].Unpack(retry_info)
        assert retry_info.retry_delay.ToMilliseconds() == int(trailers["grpc-retry-pushback-ms"])
        assert trailers["x-request-id"]
        engine.gate.set()
        join(accepted)
        assert client.translate("جملة قصيرة.").translations  # served again once the queue drained


def test_refused_when_it_cannot_finish_before_its_own_deadline(models_dir) -> None:
    engine = GatedEngine()
    with (
        gated_server(engine, models_dir, max_queue_seconds=1000.0, deadline_margin=0.8) as running,
        TarjamaClient(running.address, retry=NO_RETRY) as client,
    ):
        accepted = threading.Thread(target=client.translate, args=(ARTICLE,))
        accepted.start()
        wait_until_in_engine(engine)
        # 12 s ahead + 12 s own > 0.8 x 25 s: refused now, not left to die at its deadline.
        with pytest.raises(OverloadedError, match="before its deadline"):
            client.translate(ARTICLE, timeout=25)
        engine.gate.set()
        join(accepted)
        assert client.translate(ARTICLE, timeout=900).translations


def test_a_request_larger_than_the_queue_bound_is_invalid(models_dir) -> None:
    engine = GatedEngine()
    engine.gate.set()
    with (
        gated_server(engine, models_dir, max_queue_seconds=ARTICLE_SECONDS * 2.5) as running,
        TarjamaClient(running.address, retry=NO_RETRY) as client,
    ):
        with pytest.raises(InvalidRequestError, match="--max-queue-seconds"):
            client.translate([ARTICLE] * 3)
        assert engine.inputs == []  # refused before any inference
        assert client.translate([ARTICLE] * 2).translations


async def test_jobs_of_a_call_that_left_never_reach_the_model(models_dir) -> None:
    engine = GatedEngine()
    with gated_server(engine, models_dir, assumed_tokens_per_second=1e6) as running:
        async with AsyncTarjamaClient(running.address, retry=NO_RETRY) as client:
            first = asyncio.ensure_future(client.translate("جملة أولى."))
            await asyncio.to_thread(wait_until_in_engine, engine)
            with pytest.raises(DeadlineExceededError):
                await client.translate(ARTICLE, timeout=1)  # queued behind the gate, then its deadline passes
            # The server's deadline ends a little after the client's (the call took time to arrive).
            (scheduler,) = running.server.schedulers
            await wait_for_async(lambda: not scheduler.queued, "the server never withdrew the jobs of the call")
            engine.gate.set()
            await first
        assert not any("كلمة" in text for text in engine.inputs)


def test_planning_stops_when_the_caller_leaves() -> None:
    from tarjama_server.core.planning import Planner, PlanningCancelled

    cancelled = threading.Event()
    counted: list[str] = []

    class LeavingEngine(GatedEngine):
        def count_tokens(self, text: str) -> int:
            counted.append(text)
            cancelled.set()  # the caller leaves while the first text is being segmented
            return super().count_tokens(text)

    engine = LeavingEngine()
    planner = Planner(engine.info, engine.count_tokens, max_segment_tokens=256)
    texts = ["نص أول.", "نص ثان.", "نص ثالث."]
    with pytest.raises(PlanningCancelled):
        planner.plan(texts, source_language="ar", target_language="en", cancelled=cancelled)
    assert not any("ثان" in text or "ثالث" in text for text in counted)  # the later texts were never read


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_a_taken_grpc_port_is_a_start_up_error_naming_it(models_dir) -> None:
    first = TarjamaServer(tiny_settings(models_dir, port=free_port()))
    port = await first.start()
    try:
        second = TarjamaServer(tiny_settings(models_dir, port=port))
        with pytest.raises(OSError, match=rf"gRPC port 127\.0\.0\.1:{port} is in use"):
            await second.start()
    finally:
        await first.stop(0)


async def test_a_taken_metrics_port_is_a_start_up_error_naming_it(models_dir) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        metrics_port = taken.getsockname()[1]
        server = TarjamaServer(tiny_settings(models_dir, metrics_port=metrics_port))
        with pytest.raises(OSError, match=rf"metrics port 127\.0\.0\.1:{metrics_port} is in use"):
            await server.start()


def test_graceful_stop_under_load(models_dir) -> None:
    engine = GatedEngine()
    running = gated_server(engine, models_dir, assumed_tokens_per_second=1e6, shutdown_grace_seconds=60)
    outcome: dict[str, int] = {}
    with TarjamaClient(running.address, retry=NO_RETRY) as client:
        results: list[object] = []
        callers = [threading.Thread(target=lambda: results.append(client.translate(ARTICLE))) for _ in range(3)]
        for caller in callers:
            caller.start()
        wait_until_in_engine(engine)
        state = running.server.state
        wait_for(lambda: state.in_flight >= 3, "the three calls were never all accepted")
        loop = running._loop
        assert loop is not None and running.server is not None
        stopping = asyncio.run_coroutine_threadsafe(running.server.stop(), loop)
        wait_for(lambda: state.draining, "the graceful stop never began")
        with pytest.raises(ServerUnavailableError):
            client.translate("جملة.")
        engine.gate.set()
        outcome = stopping.result(60)
        for caller in callers:
            join(caller)
    running.stop()
    assert len(results) == 3
    assert outcome == {"in_flight": 3, "finished": 3, "ok": 3, "cut": 0}


def test_sigterm_exits_0_and_a_second_server_on_the_port_fails_naming_it(models_dir, caplog) -> None:
    import signal
    import subprocess
    import sys

    port = free_port()
    # The installed console script, as operators (and the image's tini) start it.
    command = [
        str(Path(sys.executable).parent / "tarjama-server"), "--port", str(port), "--metrics-port", "0", "--offline",
        "--translation-model", str(models_dir / "marian-ar-en"), "--summarization-model", "none",
        "--assumed-tokens-per-second", "1000", "--log-format", "json",
    ]  # fmt: skip
    first = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        with TarjamaClient(f"127.0.0.1:{port}") as client:
            client.wait_until_ready(timeout=120)
            assert client.translate("جملة.").translations
        # A second server on the same port: the same start-up path as the command, in this process
        # (a second process would only add the cost of importing torch).
        from tarjama_server.app import run
        from tarjama_server.settings import load_settings

        with caplog.at_level("ERROR", logger="tarjama_server"):
            assert asyncio.run(run(load_settings(command[1:], env={}))) == 2
        assert f"gRPC port 127.0.0.1:{port} is in use" in caplog.text
        first.send_signal(signal.SIGTERM)
        _, stderr = first.communicate(timeout=120)
    finally:
        first.kill()
    assert first.returncode == 0
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert any(line.get("method") == "Translate" and line.get("status") == "OK" for line in lines)
    assert "stopped: 0 calls in flight" in lines[-1]["message"]
