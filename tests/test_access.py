"""API keys on a real server, over both transports: made with ``tarjama-keys``, checked before
admission (401/UNAUTHENTICATED, 403/PERMISSION_DENIED naming the scope, 429/RESOURCE_EXHAUSTED
for a rate with its retry hint and for a quota without one), ``GetUsage``, ``ListAudit``,
a key revoked mid-stream, a burst of wrong keys, and no key in any log line."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import grpc
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import event
from tarjama_client.v1 import tarjama_pb2 as pb
from tarjama_client.v1 import tarjama_pb2_grpc as pb_grpc
from tarjama_server import keys_cli
from tarjama_server.engines.base import Generation, GenerationParams

from .helpers import WAIT_SECONDS, ServerThread, free_port, tiny_settings, wait_for, wrapping_loader
from .test_desk import connect_call as post
from .test_desk import stub

ADMIN_TOKEN = "operator-s3cret-token"
ALEPPO = "حلب."
BURST = 2000


def keys(url: str, *arguments: str) -> str:
    """Run ``tarjama-keys`` on the server's database; its stdout."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert keys_cli.main(["--database-url", url, *arguments]) == 0
    return out.getvalue().strip()


class SteppingEngine:
    """A real engine whose batches run freely, or one per ``step()`` once ``hold()`` is called."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.info = engine.info
        self.free = threading.Event()
        self.free.set()
        self.steps = threading.Semaphore(0)
        self.waiting = threading.Event()

    def count_tokens(self, text: str) -> int:
        return int(self.engine.count_tokens(text))

    def generate(self, texts: Sequence[str], params: GenerationParams) -> list[Generation]:
        if not self.free.is_set():
            self.waiting.set()
            if not self.steps.acquire(timeout=WAIT_SECONDS):
                raise TimeoutError("the test never let this batch run")
        return list(self.engine.generate(texts, params))


@pytest.fixture(scope="module")
def keyed(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerThread, dict[str, str]]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('access') / 'tarjama.db'}"
    made = {
        "url": url,
        "cms": keys(url, "create", "--name", "cms", "--scopes", "translate,summarize"),
        "editor": keys(url, "create", "--name", "editor", "--scopes", "translate,memory.write,memory.read"),
        "small": keys(url, "create", "--name", "small", "--scopes", "translate", "--characters-per-day", "100"),
        "tiny": keys(url, "create", "--name", "tiny", "--scopes", "translate", "--characters-per-day", "1"),
        "hasty": keys(url, "create", "--name", "hasty", "--scopes", "translate", "--requests-per-minute", "2"),
    }
    engines: list[SteppingEngine] = []
    settings = tiny_settings(
        models_dir,
        summarization_model="none",
        http_port=free_port(),
        database_url=url,
        auth_token=ADMIN_TOKEN,
        key_refresh_seconds=0.2,
        cache_bytes=8 * 2**20,  # cache hits are free: checked below
        max_batch_size=1,  # one segment a batch: a stream's events come one by one
    )
    running = ServerThread(settings, wrapping_loader(SteppingEngine, engines)).start()
    running.engine = engines[0]  # type: ignore[attr-defined]
    yield running, made
    running.stop()


def bearer(key: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {key}"),)


def test_over_json_no_key_a_missing_scope_and_a_quota_are_refused(
    keyed: tuple[ServerThread, dict[str, str]], seed_article: str
) -> None:
    server, made = keyed
    status, body, _ = post(server, "Translate", {"texts": [ALEPPO]})
    assert (status, body["code"]) == (401, "unauthenticated")
    status, body, _ = post(server, "Translate", {"texts": [ALEPPO]}, key=made["cms"][:-2] + "xx")
    assert status == 401
    status, body, _ = post(server, "SaveTranslation", {"source": ALEPPO, "translation": "Aleppo."}, key=made["cms"])
    assert (status, body["code"]) == (403, "permission_denied")
    assert "'memory.write'" in body["message"]
    status, body, headers = post(server, "Translate", {"texts": [seed_article]}, key=made["small"])
    assert (status, body["code"]) == (429, "resource_exhausted")
    assert "characters_per_day" in body["message"] and "resets at" in body["message"]
    assert "retry-after" not in headers and "details" not in body  # no hint to retry in seconds
    status, body, _ = post(server, "GetUsage", {}, key=made["small"])
    assert [int(body[name]) for name in ("requestsToday", "charactersToday", "charactersPerDay")] == [0, 0, 100]


def test_get_usage_counts_the_models_characters_and_cache_hits_are_free(
    keyed: tuple[ServerThread, dict[str, str]],
) -> None:
    server, made = keyed
    text = "قال المتحدث إن الاجتماع سيعقد غدا."
    assert post(server, "Translate", {"texts": [text]}, key=made["editor"])[0] == 200
    assert post(server, "Translate", {"texts": [text]}, key=made["editor"])[0] == 200  # a cache hit: free
    status, usage, _ = post(server, "GetUsage", {}, key=made["editor"])
    assert status == 200
    assert usage["keyName"] == "editor" and usage["scopes"] == ["memory.read", "memory.write", "translate"]
    assert (int(usage["requestsToday"]), int(usage["charactersToday"])) == (2, len(text))
    assert (int(usage["requestsThisMonth"]), int(usage["charactersThisMonth"])) == (2, len(text))
    # An approved translation: its segment comes from memory next time, and costs nothing.
    assert post(server, "SaveTranslation", {"source": ALEPPO, "translation": "Aleppo."}, key=made["editor"])[0] == 200
    status, body, _ = post(server, "Translate", {"texts": [ALEPPO], "memory": "default"}, key=made["editor"])
    assert body["translations"][0]["text"] == "Aleppo."
    usage = post(server, "GetUsage", {}, key=made["editor"])[1]
    assert (int(usage["requestsToday"]), int(usage["charactersToday"])) == (4, len(text))
    sample = REGISTRY.get_sample_value("tarjama_key_characters_total", {"key": "editor"})
    assert sample is not None and sample >= len(text)
    # The audit names the key of the approval (the admin token may read it).
    status, audit, _ = post(server, "ListAudit", {"pageSize": 50}, key=ADMIN_TOKEN)
    assert status == 200
    saved = [entry for entry in audit["entries"] if entry["action"] == "memory.save"]
    assert saved and saved[0]["actor"] == "editor"
    assert post(server, "ListAudit", {}, key=made["editor"])[0] == 403


def test_over_grpc_the_same_statuses_and_the_rate_limits_retry_hint(
    keyed: tuple[ServerThread, dict[str, str]],
) -> None:
    server, made = keyed
    request = pb.TranslateRequest(texts=[ALEPPO])
    with stub(server) as client:
        with pytest.raises(grpc.RpcError) as refused:
            client.Translate(request, timeout=WAIT_SECONDS)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.RpcError) as refused:
            client.ImportMemory(pb.ImportMemoryRequest(tmx=b"<tmx/>"), metadata=bearer(made["cms"]))
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "'memory.write'" in (refused.value.details() or "")
        with pytest.raises(grpc.RpcError) as refused:
            client.Translate(request, metadata=bearer(made["tiny"]), timeout=WAIT_SECONDS)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "characters_per_day" in (refused.value.details() or "")
        trailers = dict(refused.value.trailing_metadata() or ())
        assert "grpc-retry-pushback-ms" not in trailers and "grpc-status-details-bin" not in trailers
        # Two requests a minute: of five, at least one is refused with a hint, however they fall on minutes.
        outcomes = []
        for _ in range(5):
            try:
                client.Translate(request, metadata=bearer(made["hasty"]), timeout=WAIT_SECONDS)
                outcomes.append("ok")
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                assert "requests_per_minute" in (error.details() or "")
                hint = dict(error.trailing_metadata() or ())
                assert 0 < int(hint["grpc-retry-pushback-ms"]) <= 60_000
                outcomes.append("refused")
        assert outcomes.count("refused") >= 1
        # The operator's --auth-token is an admin key.
        page = client.ListAudit(pb.ListAuditRequest(page_size=2), metadata=bearer(ADMIN_TOKEN))
        assert len(page.entries) == 2 and page.next_page_token
        older = client.ListAudit(
            pb.ListAuditRequest(page_size=2, page_token=page.next_page_token), metadata=bearer(ADMIN_TOKEN)
        )
        assert older.entries[0].id < page.entries[-1].id
        usage = client.GetUsage(pb.GetUsageRequest(), metadata=bearer(made["cms"]))
        assert usage.key_name == "cms"


def test_a_burst_of_wrong_keys_reaches_no_database_and_the_server_keeps_serving(
    keyed: tuple[ServerThread, dict[str, str]],
) -> None:
    """Over the wire, 2,000 at once (10,000 took 53 s on a busy 2-core machine; the gate's own
    test sends 10,000 and counts no query at all: test_access_store.py)."""
    server, made = keyed
    assert server.server is not None and server.server.state.desk is not None
    engine = server.server.state.desk.store.engine.sync_engine  # type: ignore[attr-defined]
    statements: list[str] = []

    def count(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    public_id = made["cms"].split("_")[1]

    async def burst() -> list[grpc.StatusCode]:
        async with grpc.aio.insecure_channel(server.address) as channel:
            client = pb_grpc.TarjamaServiceStub(channel)
            limit = asyncio.Semaphore(200)

            async def one(i: int) -> grpc.StatusCode:
                key = f"tjk_{public_id}_{i:043d}" if i % 2 else f"wrong-{i}"
                async with limit:
                    try:
                        await client.Translate(
                            pb.TranslateRequest(texts=[ALEPPO]), metadata=bearer(key), timeout=WAIT_SECONDS
                        )
                    except grpc.aio.AioRpcError as error:
                        return error.code()
                return grpc.StatusCode.OK

            return await asyncio.gather(*(one(i) for i in range(BURST)))

    event.listen(engine, "before_cursor_execute", count)
    try:
        codes = asyncio.run(burst())
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert codes == [grpc.StatusCode.UNAUTHENTICATED] * BURST
    # The only statements: the key table's refresh every 0.2 s, never one per attempt.
    per_attempt = [
        s for s in statements if "api_keys" not in s and "DELETE FROM key_usage" not in s and not s.startswith("BEGIN")
    ]
    assert per_attempt == [] and len(statements) < 1000
    with stub(server) as client:
        assert client.Translate(pb.TranslateRequest(texts=[ALEPPO]), metadata=bearer(made["cms"])).translations


def test_a_key_revoked_while_its_stream_runs_ends_the_stream(
    keyed: tuple[ServerThread, dict[str, str]], seed_article: str
) -> None:
    server, made = keyed
    url = made["url"]
    streamer = keys(url, "create", "--name", "streamer", "--scopes", "translate")
    engine: SteppingEngine = server.engine  # type: ignore[attr-defined]
    wait_for(lambda: post(server, "GetUsage", {}, key=streamer)[0] == 200, "the new key to be read")
    engine.free.clear()
    try:
        with stub(server) as client:
            events = client.StreamTranslate(
                pb.TranslateRequest(texts=[seed_article + " 1"]), metadata=bearer(streamer), timeout=WAIT_SECONDS
            )
            engine.steps.release()
            first = next(events)
            assert first.HasField("segment") or first.HasField("translation") or first.ByteSize() > 0
            keys(url, "revoke", "streamer")
            wait_for(lambda: post(server, "GetUsage", {}, key=streamer)[0] == 401, "the revocation to be read")
            engine.free.set()
            engine.steps.release(64)
            with pytest.raises(grpc.RpcError) as ended:
                for _ in events:
                    pass
            assert ended.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert "revoked during this call" in (ended.value.details() or "")
    finally:
        engine.free.set()
        engine.steps.release(64)


def test_keys_never_reach_the_log_at_any_level(
    keyed: tuple[ServerThread, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    server, made = keyed
    caplog.set_level(logging.DEBUG)  # every logger, the database's statements included
    url = made["url"]
    fresh = keys(url, "create", "--name", "logged", "--scopes", "translate,memory.write")
    wait_for(lambda: post(server, "GetUsage", {}, key=fresh)[0] == 200, "the new key to be read")
    assert post(server, "Translate", {"texts": ["ذهب الولد."]}, key=fresh)[0] == 200
    assert post(server, "SaveTranslation", {"source": "ذهب.", "translation": "He went."}, key=fresh)[0] == 200
    assert post(server, "Summarize", {"text": "ذهب."}, key=fresh)[0] == 403
    assert post(server, "Translate", {"texts": [ALEPPO]}, key=fresh + "x")[0] == 401
    with stub(server) as client:
        client.Translate(pb.TranslateRequest(texts=[ALEPPO]), metadata=bearer(fresh))
        with pytest.raises(grpc.RpcError):
            client.Translate(pb.TranslateRequest(texts=[ALEPPO]), metadata=bearer(fresh[:-1]))
    rotated = keys(url, "rotate", "logged")
    keys(url, "revoke", "logged")
    records = caplog.records
    assert any(record.name == "tarjama_server.access" and "key=logged" in record.getMessage() for record in records)
    assert any(record.levelno == logging.DEBUG for record in records)
    logged = caplog.text + "".join(f"{record.getMessage()} {record.__dict__}" for record in records)
    for secret in (fresh, rotated, ADMIN_TOKEN, *(made[name] for name in ("cms", "editor", "small"))):
        assert secret not in logged
        if secret.startswith("tjk_"):  # nor its secret part: tjk_<12 hex>_<43 characters, which may hold "_">
            assert secret[len("tjk_") + 13 :] not in logged
