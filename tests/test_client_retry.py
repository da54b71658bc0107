"""Client retries against a scripted server that refuses a set number of times, and the call's
decisions (``_retry.Attempts``) driven directly, on a clock the test holds."""

from __future__ import annotations

import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from tarjama_client import (
    AsyncTarjamaClient,
    DeadlineExceededError,
    InvalidRequestError,
    OverloadedError,
    RetryPolicy,
    ServerUnavailableError,
    TarjamaClient,
)
from tarjama_client._retry import Attempts
from tarjama_client.errors import from_rpc_error, pushback_seconds
from tarjama_client.v1 import tarjama_pb2 as pb
from tarjama_client.v1 import tarjama_pb2_grpc as pb_grpc


class Refusing(pb_grpc.TarjamaServiceServicer):
    """Answers the first ``refusals`` calls with ``code`` (and a pushback, if given), then OK."""

    def __init__(self, refusals: int, code: grpc.StatusCode, pushback_ms: int | None = None) -> None:
        self.refusals = refusals
        self.code = code
        self.pushback_ms = pushback_ms
        self.calls = 0

    def _refuse(self, context: grpc.ServicerContext) -> bool:
        self.calls += 1
        if self.calls > self.refusals:
            return False
        if self.pushback_ms is not None:
            context.set_trailing_metadata((("grpc-retry-pushback-ms", str(self.pushback_ms)),))
        context.abort(self.code, "scripted refusal")
        return True

    def Translate(self, request, context):
        self._refuse(context)
        return pb.TranslateResponse(translations=[pb.Translation(text="ok")])

    def StreamTranslate(self, request, context):
        self._refuse(context)
        yield pb.TranslateEvent(total_segments=1, segment=pb.Segment(translation="ok"))


@pytest.fixture
def scripted() -> Iterator:
    servers = []

    def start(servicer: Refusing) -> str:
        server = grpc.server(ThreadPoolExecutor(2))
        pb_grpc.add_TarjamaServiceServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        servers.append(server)
        return f"127.0.0.1:{port}"

    yield start
    for server in servers:
        server.stop(0)


FAST = RetryPolicy(initial_backoff=0.01, max_backoff=0.05)


@pytest.mark.parametrize("code", [grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE])
def test_sync_client_retries_until_served(scripted, code) -> None:
    servicer = Refusing(2, code, pushback_ms=10)
    with TarjamaClient(scripted(servicer), retry=FAST, timeout=60) as client:
        assert client.translate("نص").translations[0].text == "ok"
        assert [event.segment.translation for event in client.stream_translate("نص")] == ["ok"]
    assert servicer.calls == 2 + 1 + 1  # two refusals, then each call served


async def test_async_client_retries_until_served(scripted) -> None:
    servicer = Refusing(2, grpc.StatusCode.RESOURCE_EXHAUSTED)
    async with AsyncTarjamaClient(scripted(servicer), retry=FAST, timeout=60) as client:
        assert (await client.translate("نص")).translations[0].text == "ok"
        assert [event.segment.translation async for event in client.stream_translate("نص")] == ["ok"]
    assert servicer.calls == 4


def test_retries_can_be_switched_off(scripted) -> None:
    servicer = Refusing(1, grpc.StatusCode.RESOURCE_EXHAUSTED)
    with TarjamaClient(scripted(servicer), retry=RetryPolicy.disabled()) as client:
        with pytest.raises(OverloadedError):
            client.translate("نص")
    assert servicer.calls == 1


def test_gives_up_at_once_when_the_pushback_ends_past_the_deadline(scripted) -> None:
    servicer = Refusing(1, grpc.StatusCode.RESOURCE_EXHAUSTED, pushback_ms=3_600_000)
    with TarjamaClient(scripted(servicer), retry=FAST, timeout=60) as client:
        with pytest.raises(OverloadedError, match="scripted refusal"):
            client.translate("نص")  # the server asks for an hour; the call has a minute
    assert servicer.calls == 1


def test_other_errors_are_not_retried(scripted) -> None:
    servicer = Refusing(1, grpc.StatusCode.INVALID_ARGUMENT)
    with TarjamaClient(scripted(servicer), retry=FAST) as client, pytest.raises(InvalidRequestError):
        client.translate("نص")
    assert servicer.calls == 1


class FakeError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, trailers: tuple = ()) -> None:
        self._code, self._trailers = code, trailers

    def code(self) -> grpc.StatusCode:
        return self._code

    def trailing_metadata(self) -> tuple:
        return self._trailers


def test_backoff_is_exponential_with_full_jitter_and_honours_pushback() -> None:
    policy = RetryPolicy(max_attempts=5, initial_backoff=1.0, max_backoff=5.0, multiplier=2.0)

    class Top(random.Random):
        def random(self) -> float:
            return 0.999999

    busy = from_rpc_error(FakeError(grpc.StatusCode.UNAVAILABLE))
    assert [round(policy.delay(n, busy, 100, Top()), 3) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
    assert policy.delay(5, busy, 100) is None  # out of attempts
    assert policy.delay(1, busy, 0.5, Top()) is None  # would end past the deadline
    pushed = FakeError(grpc.StatusCode.RESOURCE_EXHAUSTED, (("grpc-retry-pushback-ms", "3000"),))
    assert pushback_seconds(pushed) == 3.0 and from_rpc_error(pushed).retry_after == 3.0
    assert 3.0 <= policy.delay(1, from_rpc_error(pushed), 100) <= 3.6
    never = FakeError(grpc.StatusCode.RESOURCE_EXHAUSTED, (("grpc-retry-pushback-ms", "-1"),))
    assert policy.delay(1, from_rpc_error(never), 100) is None


# -- the decisions of one call, without a server -----------------------------------------------


def test_each_attempt_gets_what_is_left_of_the_call_timeout_and_the_observer_hears_it() -> None:
    heard: list[tuple[str, float]] = []
    attempts = Attempts(
        RetryPolicy(initial_backoff=0.5, max_backoff=0.5),
        timeout=10.0,
        now=100.0,
        observe=lambda error, seconds: heard.append((error.code.name if error else "OK", seconds)),
    )
    assert attempts.start(100.0) == 10.0
    delay = attempts.failed(FakeError(grpc.StatusCode.UNAVAILABLE), 101.0)
    assert 0 <= delay <= 0.5
    assert attempts.start(102.0) == 8.0  # the deadline is the call's, not the attempt's
    attempts.succeeded(104.5)
    assert heard == [("UNAVAILABLE", 1.0), ("OK", 2.5)]
    assert attempts.start(110.5) == 0.001  # past the deadline: never 0, which gRPC reads as none


def test_a_call_gives_up_with_the_callers_error() -> None:
    attempts = Attempts(RetryPolicy(), timeout=1.0, now=0.0)
    attempts.start(0.0)
    with pytest.raises(InvalidRequestError):  # not retryable
        attempts.failed(FakeError(grpc.StatusCode.INVALID_ARGUMENT), 0.1)
    attempts.start(0.2)
    with pytest.raises(DeadlineExceededError):
        attempts.failed(FakeError(grpc.StatusCode.DEADLINE_EXCEEDED), 1.0)
    pushed = FakeError(grpc.StatusCode.RESOURCE_EXHAUSTED, (("grpc-retry-pushback-ms", "5000"),))
    attempts.start(0.3)
    with pytest.raises(OverloadedError) as refused:  # the server asks for 5 s; 0.6 s are left
        attempts.failed(pushed, 0.4)
    assert refused.value.retry_after == 5.0


def test_a_stream_that_answered_is_never_retried() -> None:
    attempts = Attempts(RetryPolicy(), timeout=60.0, now=0.0)
    attempts.start(0.0)
    assert attempts.failed(FakeError(grpc.StatusCode.UNAVAILABLE), 0.1) >= 0  # before its first message
    attempts.start(0.2)
    with pytest.raises(ServerUnavailableError):
        attempts.failed(FakeError(grpc.StatusCode.UNAVAILABLE), 0.3, answered=True)


def test_on_attempt_hears_every_attempt_of_a_public_call(scripted) -> None:
    servicer = Refusing(2, grpc.StatusCode.RESOURCE_EXHAUSTED, pushback_ms=10)
    heard: list[tuple[str, float | None]] = []

    def on_attempt(error, seconds: float) -> None:
        assert seconds >= 0
        heard.append((error.code.name, error.retry_after) if error else ("OK", None))

    with TarjamaClient(scripted(servicer), retry=FAST, timeout=60) as client:
        client.translate("نص", on_attempt=on_attempt)
    assert heard == [("RESOURCE_EXHAUSTED", 0.01), ("RESOURCE_EXHAUSTED", 0.01), ("OK", None)]


async def test_on_attempt_on_the_asyncio_client(scripted) -> None:
    servicer = Refusing(1, grpc.StatusCode.UNAVAILABLE)
    heard: list[str] = []
    async with AsyncTarjamaClient(scripted(servicer), retry=FAST, timeout=60) as client:
        await client.translate("نص", on_attempt=lambda error, _: heard.append(error.code.name if error else "OK"))
    assert heard == ["UNAVAILABLE", "OK"]
