"""The desk through real servers (tiny models) and real clients, over gRPC and over Connect JSON:
glossaries used by id, approvals that come back FROM_MEMORY (after a restart, before the
cache), near matches, TMX from one server into another, the desk off, a database that goes
away and comes back (PostgreSQL behind a proxy the test cuts), bad input refused."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import struct
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from prometheus_client import REGISTRY
from tarjama_client.v1 import tarjama_pb2 as pb
from tarjama_client.v1 import tarjama_pb2_grpc as pb_grpc

from .helpers import WAIT_SECONDS, ServerThread, free_port, join, tiny_settings

SENTENCE = "قال المتحدث باسم الوزارة إن الاجتماع سيعقد غدا في العاصمة."
EDITED = "قال المتحدث باسم الوزارة إن الاجتماع سيعقد بعد غد في العاصمة."
SERVICE = "/tarjama.v1.TarjamaService/"


def connect_call(
    server: ServerThread, method: str, message: dict[str, Any], key: str | None = None
) -> tuple[int, Any, Any]:
    """A Connect JSON unary call, with ``key`` as its bearer: the HTTP status, the decoded body, the headers."""
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    request = urllib.request.Request(
        server.http_url.rstrip("/") + SERVICE + method,
        data=json.dumps(message, ensure_ascii=False).encode(),
        headers=headers,
    )
    try:
        with urllib.request.urlopen(request, timeout=WAIT_SECONDS) as response:
            return response.status, json.loads(response.read()), response.headers
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers


def post(server: ServerThread, method: str, message: dict[str, Any]) -> tuple[int, Any]:
    """A Connect JSON unary call: the HTTP status and the decoded body."""
    status, body, _ = connect_call(server, method, message)
    return status, body


def post_stream(server: ServerThread, method: str, message: dict[str, Any]) -> list[tuple[int, Any]]:
    """A Connect JSON server stream: its frames, (flags, decoded JSON)."""
    payload = json.dumps(message).encode()
    request = urllib.request.Request(
        server.http_url.rstrip("/") + SERVICE + method,
        data=struct.pack(">BI", 0, len(payload)) + payload,
        headers={"content-type": "application/connect+json"},
    )
    with urllib.request.urlopen(request, timeout=WAIT_SECONDS) as response:
        body = response.read()
    frames, at = [], 0
    while at < len(body):
        flags, length = struct.unpack_from(">BI", body, at)
        frames.append((flags, json.loads(body[at + 5 : at + 5 + length])))
        at += 5 + length
    return frames


@contextlib.contextmanager
def stub(server: ServerThread) -> Iterator[pb_grpc.TarjamaServiceStub]:
    with grpc.insecure_channel(server.address) as channel:
        yield pb_grpc.TarjamaServiceStub(channel)


def desk_server(models_dir: Path, url: str, **overrides: object) -> ServerThread:
    settings = tiny_settings(models_dir, http_port=free_port(), database_url=url, **overrides)
    return ServerThread(settings).start()


@pytest.fixture(scope="module")
def desk_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('desk') / 'desk.db'}"


@pytest.fixture(scope="module")
def desk(models_dir: Path, desk_db: str) -> Iterator[ServerThread]:
    """A server with a desk (SQLite) and its result cache on: the memory must be read before it."""
    running = desk_server(models_dir, desk_db, cache_bytes=8 * 2**20)
    yield running
    running.stop()


def segments(response: pb.TranslateResponse) -> list[pb.Segment]:
    return [segment for translation in response.translations for segment in translation.segments]


def test_glossaries_over_grpc_and_json(desk: ServerThread) -> None:
    with stub(desk) as service:
        created = service.CreateGlossary(
            pb.CreateGlossaryRequest(name="Agencies", entries={"الأونروا": "UNRWA"}), timeout=WAIT_SECONDS
        )
        assert (created.name, created.entry_count, created.source_language, created.target_language) == (
            "Agencies", 1, "ar", "en",
        )  # fmt: skip
        assert created.create_time.endswith("Z") and len(created.id) == 32
        tsv = base64.b64encode("term\ttranslation\nاليونيسف\tUNICEF\n".encode()).decode()
        status, from_file = post(
            desk, "CreateGlossary", {"name": "From TSV", "file": tsv, "fileMediaType": "text/tab-separated-values"}
        )
        assert status == 200 and from_file["entries"] == {"اليونيسف": "UNICEF"} and from_file["entryCount"] == 1
        status, listed = post(desk, "ListGlossaries", {})
        names = {g["id"]: (g["name"], g["entryCount"], g["entries"]) for g in listed["glossaries"]}
        assert names[created.id] == ("Agencies", 1, {}) and names[from_file["id"]] == ("From TSV", 1, {})
        status, got = post(desk, "GetGlossary", {"id": created.id})
        assert got["entries"] == {"الأونروا": "UNRWA"}
        updated = service.UpdateGlossary(
            pb.UpdateGlossaryRequest(id=created.id, name="UN", replace_entries=True, entries={"الأونروا": "UNRWA"}),
            timeout=WAIT_SECONDS,
        )
        assert updated.name == "UN" and updated.update_time >= created.update_time
        assert post(desk, "DeleteGlossary", {"id": from_file["id"]}) == (200, {})
        status, missing = post(desk, "GetGlossary", {"id": from_file["id"]})
        assert (status, missing["code"]) == (404, "not_found") and "no glossary with id" in missing["message"]
        with pytest.raises(grpc.RpcError) as refused:
            service.DeleteGlossary(pb.DeleteGlossaryRequest(id=from_file["id"]), timeout=WAIT_SECONDS)
        assert refused.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_stored_glossary_is_applied_by_id(desk: ServerThread) -> None:
    status, glossary = post(desk, "CreateGlossary", {"name": "g", "entries": {"الوزارة": "Ministry-of-Zed"}})
    assert status == 200
    status, translated = post(desk, "Translate", {"texts": [SENTENCE], "glossaryId": glossary["id"]})
    assert status == 200
    (segment,) = translated["translations"][0]["segments"]
    # The tiny model is untrained: the term is either rendered or reported missing, never ignored.
    assert "Ministry-of-Zed" in segment["translation"] or segment["glossaryMissing"] == ["الوزارة"]
    status, plain = post(desk, "Translate", {"texts": [SENTENCE]})
    assert plain["translations"][0]["segments"][0]["glossaryMissing"] == []
    status, missing = post(desk, "Translate", {"texts": [SENTENCE], "glossaryId": "nope"})
    assert (status, missing["code"]) == (404, "not_found")


def test_an_approval_comes_back_from_memory_before_the_cache_and_after_a_restart(
    desk: ServerThread, models_dir: Path, desk_db: str
) -> None:
    request = pb.TranslateRequest(texts=[SENTENCE], memory="approvals")
    with stub(desk) as service:
        (first,) = segments(service.Translate(request, timeout=WAIT_SECONDS))
        assert pb.SEGMENT_FLAG_FROM_MEMORY not in first.flags and not first.HasField("memory_match")
        cached = service.Translate(request, timeout=WAIT_SECONDS)
        assert pb.SEGMENT_FLAG_CACHED in segments(cached)[0].flags  # the model's output is in the cache now
        saved = service.SaveTranslation(
            pb.SaveTranslationRequest(
                memory="approvals", source=first.source, translation="The ministry's spokesman: meeting tomorrow.",
                approver="mona",
            ),
            timeout=WAIT_SECONDS,
        )  # fmt: skip
        response = service.Translate(request, timeout=WAIT_SECONDS)
    (segment,) = segments(response)
    assert segment.translation == "The ministry's spokesman: meeting tomorrow."
    assert list(segment.flags) == [pb.SEGMENT_FLAG_FROM_MEMORY]
    assert (segment.memory_match.entry_id, segment.memory_match.similarity) == (saved.id, 1.0)
    assert segment.memory_match.approver == "mona" and segment.memory_match.approve_time == saved.update_time
    assert response.usage.input_tokens == 0 and response.usage.output_tokens == 0  # no model call
    assert not segment.HasField("confidence")
    assert response.translations[0].text == "The ministry's spokesman: meeting tomorrow."
    # Another server on the same database (a restart), asked over JSON.
    with desk_server(models_dir, desk_db) as restarted:
        status, body = post(restarted, "Translate", {"texts": [SENTENCE], "memory": "approvals"})
    assert status == 200
    (again,) = body["translations"][0]["segments"]
    assert again["flags"] == ["SEGMENT_FLAG_FROM_MEMORY"] and again["memoryMatch"]["similarity"] == 1.0
    assert again["translation"] == "The ministry's spokesman: meeting tomorrow."


def test_a_slightly_edited_sentence_carries_its_near_match(desk: ServerThread) -> None:
    assert post(desk, "SaveTranslation", {"memory": "near", "source": SENTENCE, "translation": "Approved."})[0] == 200
    status, body = post(desk, "Translate", {"texts": [f"{SENTENCE}\n{EDITED}"], "memory": "near"})
    assert status == 200
    exact, near = body["translations"][0]["segments"]
    assert exact["flags"] == ["SEGMENT_FLAG_FROM_MEMORY"]
    assert "SEGMENT_FLAG_MEMORY_MATCH" in near["flags"] and "SEGMENT_FLAG_FROM_MEMORY" not in near["flags"]
    assert 0.75 <= near["memoryMatch"]["similarity"] < 1 and near["memoryMatch"]["translation"] == "Approved."
    assert near["translation"] != "Approved."  # the model's own, for the editor to compare
    status, strict = post(desk, "Translate", {"texts": [EDITED], "memory": "near", "memoryMinSimilarity": 0.99})
    assert "memoryMatch" not in strict["translations"][0]["segments"][0] or not strict["translations"][0]["segments"][
        0
    ]["memoryMatch"].get("translation")
    status, found = post(desk, "SearchMemory", {"memory": "near", "text": EDITED})
    assert status == 200 and [m["translation"] for m in found["matches"]] == ["Approved."]
    assert found["entries"][0]["source"] == SENTENCE


def test_html_blocks_come_from_memory_too(desk: ServerThread) -> None:
    post(desk, "SaveTranslation", {"memory": "html", "source": SENTENCE, "translation": "Approved block."})
    status, body = post(desk, "Translate", {"texts": [f"<p>{SENTENCE}</p>"], "mimeType": "text/html", "memory": "html"})
    assert status == 200
    assert body["translations"][0]["text"] == "<p>Approved block.</p>"
    assert body["translations"][0]["segments"][0]["flags"] == ["SEGMENT_FLAG_FROM_MEMORY"]


def test_tmx_exported_from_one_server_imports_into_a_fresh_one(
    desk: ServerThread, models_dir: Path, tmp_path: Path
) -> None:
    for number, source in enumerate((SENTENCE, EDITED)):
        post(desk, "SaveTranslation", {"memory": "export", "source": source, "translation": f"T{number} & <x>"})
    frames = post_stream(desk, "ExportMemory", {"memory": "export"})
    *chunks, (end_flags, end) = frames
    assert end_flags == 2 and "error" not in end
    document = b"".join(base64.b64decode(chunk["tmx"]) for _, chunk in chunks)
    assert document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<tmx version="1.4">')
    with stub(desk) as service:
        over_grpc = b"".join(c.tmx for c in service.ExportMemory(pb.ExportMemoryRequest(memory="export")))
    assert over_grpc == document
    with desk_server(models_dir, f"sqlite:///{tmp_path / 'fresh.db'}") as fresh:
        with stub(fresh) as service:
            imported = service.ImportMemory(pb.ImportMemoryRequest(memory="copy", tmx=document), timeout=WAIT_SECONDS)
            assert (imported.units, imported.saved) == (2, 2)
            listed = service.ListMemories(pb.ListMemoriesRequest(), timeout=WAIT_SECONDS)
            assert [(m.name, m.entry_count) for m in listed.memories] == [("copy", 2)]
            (segment,) = segments(
                service.Translate(pb.TranslateRequest(texts=[EDITED], memory="copy"), timeout=WAIT_SECONDS)
            )
    assert segment.translation == "T1 & <x>" and list(segment.flags) == [pb.SEGMENT_FLAG_FROM_MEMORY]


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE tmx [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    '<tmx version="1.4"><header srclang="ar"/><body><tu><tuv xml:lang="ar"><seg>&b;</seg></tuv>'
    '<tuv xml:lang="en"><seg>x</seg></tuv></tu></body></tmx>'
)


def test_bad_desk_input_is_refused_over_both_transports(desk: ServerThread) -> None:
    cases = [
        ("SaveTranslation", {"source": "", "translation": "x"}, "source is empty"),
        ("SaveTranslation", {"source": SENTENCE, "translation": " "}, "translation is empty"),
        ("ImportMemory", {"tmx": base64.b64encode(BILLION_LAUGHS.encode()).decode()}, "declares entities"),
        ("ImportMemory", {"tmx": base64.b64encode(b"<tmx><body><tu/></body></tmx>").decode()}, "tu 1: no 'ar'"),
        ("SearchMemory", {"text": SENTENCE, "limit": 1000}, "max_search_results"),
        ("CreateGlossary", {"name": "x", "entries": {"": "y"}}, "both sides must hold text"),
        ("Translate", {"texts": [SENTENCE], "memory": "m", "memoryMinSimilarity": 2}, "memory_min_similarity"),
    ]
    for method, message, expected in cases:
        status, body = post(desk, method, message)
        assert (status, body["code"]) == (400, "invalid_argument"), (method, body)
        assert expected in body["message"], (method, body)
    with stub(desk) as service, pytest.raises(grpc.RpcError) as refused:
        service.SaveTranslation(pb.SaveTranslationRequest(source=SENTENCE, translation=""), timeout=WAIT_SECONDS)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "translation is empty" in (refused.value.details() or "")
    status, models = post(desk, "ListModels", {})  # and the server keeps serving, its limits told
    server = models["server"]
    assert (server["deskEnabled"], server["database"], server["memoryMinSimilarity"]) == (True, "sqlite", 0.75)
    assert server["maxTmxBytes"] == 32 * 2**20 and server["maxGlossaryEntries"] == 2000


def test_with_the_desk_off_its_calls_name_the_setting(http_server: ServerThread) -> None:
    for method, message in (
        ("ListGlossaries", {}),
        ("SaveTranslation", {"source": SENTENCE, "translation": "x"}),
        ("Translate", {"texts": [SENTENCE], "memory": "m"}),
        ("Translate", {"texts": [SENTENCE], "glossaryId": "g"}),
    ):
        status, body = post(http_server, method, message)
        assert (status, body["code"]) == (400, "failed_precondition"), body
        assert "--database-url none" in body["message"]
    with stub(http_server) as service, pytest.raises(grpc.RpcError) as refused:
        list(service.ExportMemory(pb.ExportMemoryRequest(), timeout=WAIT_SECONDS))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    status, models = post(http_server, "ListModels", {})
    assert models["server"]["deskEnabled"] is False


class Proxy:
    """A TCP proxy on a loopback port to ``target``: ``cut()`` closes it and every connection
    through it (the database has gone away), ``restore()`` listens again on the same port."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-proxy", daemon=True)
        self._thread.start()

    def _run(self, work: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(WAIT_SECONDS)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, upstream_writer}
        await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))

    def restore(self) -> None:
        async def listen() -> None:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

        self._run(listen())

    def cut(self) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            for writer in self._writers:
                writer.close()
            self._writers.clear()

        self._run(close())

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        join(self._thread)


def test_a_database_that_goes_away_and_comes_back(models_dir: Path, postgres_cluster: Any) -> None:
    proxy = Proxy(postgres_cluster.port)
    proxy.restore()
    url = f"postgresql://{postgres_cluster.user}@127.0.0.1:{proxy.port}/postgres"
    unavailable = REGISTRY.get_sample_value("tarjama_memory_unavailable_total") or 0.0
    try:
        with desk_server(models_dir, url) as server, stub(server) as service:
            service.SaveTranslation(
                pb.SaveTranslationRequest(memory="pg", source=SENTENCE, translation="Kept."), timeout=WAIT_SECONDS
            )
            proxy.cut()
            with pytest.raises(grpc.RpcError) as refused:
                service.SaveTranslation(
                    pb.SaveTranslationRequest(memory="pg", source=SENTENCE, translation="Lost?"), timeout=WAIT_SECONDS
                )
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "database" in (refused.value.details() or "")
            # Translation goes on without the memory, counted.
            response = service.Translate(pb.TranslateRequest(texts=[SENTENCE], memory="pg"), timeout=WAIT_SECONDS)
            assert pb.SEGMENT_FLAG_FROM_MEMORY not in segments(response)[0].flags
            assert (REGISTRY.get_sample_value("tarjama_memory_unavailable_total") or 0.0) == unavailable + 1
            proxy.restore()
            (segment,) = segments(
                service.Translate(pb.TranslateRequest(texts=[SENTENCE], memory="pg"), timeout=WAIT_SECONDS)
            )
            assert segment.translation == "Kept." and list(segment.flags) == [pb.SEGMENT_FLAG_FROM_MEMORY]
    finally:
        proxy.stop()


def test_two_servers_on_one_postgresql_share_approvals_at_once(models_dir: Path, postgres_cluster: Any) -> None:
    url = postgres_cluster.url()
    with desk_server(models_dir, url) as first, desk_server(models_dir, url) as second:
        for number, (saver, reader) in enumerate(((first, second), (second, first))):
            status, _ = post(
                saver, "SaveTranslation", {"memory": "shared", "source": SENTENCE, "translation": f"v{number}"}
            )
            assert status == 200
            status, body = post(reader, "Translate", {"texts": [SENTENCE], "memory": "shared"})
            (segment,) = body["translations"][0]["segments"]
            assert (segment["translation"], segment["flags"]) == (f"v{number}", ["SEGMENT_FLAG_FROM_MEMORY"])


def test_a_tmx_over_the_bound_is_refused_naming_it(desk: ServerThread) -> None:
    too_big = b"<tmx>" + b" " * (32 * 2**20) + b"</tmx>"
    with grpc.insecure_channel(desk.address, options=[("grpc.max_send_message_length", 64 * 2**20)]) as channel:
        service = pb_grpc.TarjamaServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            service.ImportMemory(pb.ImportMemoryRequest(memory="big", tmx=too_big), timeout=WAIT_SECONDS)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "over the limit of 33554432 (max_tmx_bytes)" in (refused.value.details() or "")
        assert service.ListMemories(pb.ListMemoriesRequest(), timeout=WAIT_SECONDS).memories is not None


def test_both_python_clients_cover_the_desk(desk: ServerThread) -> None:
    from tarjama_client import AsyncTarjamaClient, InvalidRequestError, TarjamaClient
    from tarjama_client.desk import TranslateDesk

    with TarjamaClient(desk.address, timeout=WAIT_SECONDS) as client:
        created = client.create_glossary("Client", entries={"الوزارة": "Ministry-of-Zed"})
        assert client.get_glossary(created.id).entries == {"الوزارة": "Ministry-of-Zed"}
        renamed = client.update_glossary(created.id, name="Renamed")
        assert (renamed.name, renamed.entry_count) == ("Renamed", 1)
        assert created.id in {g.id for g in client.list_glossaries()}
        saved = client.save_translation(SENTENCE, "From the client.", memory="client", approver="sami")
        result = client.translate(SENTENCE, desk=TranslateDesk(glossary_id=created.id, memory="client"))
        (segment,) = result.translations[0].segments
        assert segment.flags == ["from_memory"] and segment.memory_match is not None
        assert (segment.memory_match.entry_id, segment.memory_match.approver) == (saved.id, "sami")
        (match,) = client.search_memory(EDITED, memory="client")
        assert match.translation == "From the client." and 0.75 <= match.similarity < 1
        document = b"".join(client.export_memory(memory="client"))
        assert client.import_memory(document, memory="client-copy") == (1, 1)
        assert {m.name: m.entry_count for m in client.list_memories()}["client-copy"] == 1
        client.delete_memory_entry(saved.id)
        client.delete_glossary(created.id)
        with pytest.raises(InvalidRequestError, match="translation is empty"):
            client.save_translation(SENTENCE, " ")

    async def asynchronous() -> None:
        async with AsyncTarjamaClient(desk.address, timeout=WAIT_SECONDS) as client:
            saved = await client.save_translation(SENTENCE, "From asyncio.", memory="aio")
            result = await client.translate(SENTENCE, desk=TranslateDesk(memory="aio"))
            assert result.translations[0].segments[0].translation == "From asyncio."
            assert [m.entry_id for m in await client.search_memory(SENTENCE, memory="aio")] == [saved.id]
            pieces = [piece async for piece in client.export_memory(memory="aio")]
            assert b"From asyncio." in b"".join(pieces)

    asyncio.run(asynchronous())


def test_the_command_line_covers_the_desk(
    desk: ServerThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tarjama_client.cli import main

    server = ["--server", desk.address]
    names = tmp_path / "names.tsv"
    names.write_text("الوزارة\tMinistry-of-Zed\n", encoding="utf-8")
    assert main(["glossary", "create", "CLI names", str(names), *server]) == 0
    glossary_id, name, count = capsys.readouterr().out.strip().split("\t")
    assert (name, count) == ("CLI names", "1 entries")
    assert main(["glossary", "list", *server]) == 0
    assert f"{glossary_id}\tCLI names\tar→en\t1 entries" in capsys.readouterr().out
    assert main(["glossary", "show", glossary_id, *server]) == 0
    assert capsys.readouterr().out == "الوزارة\tMinistry-of-Zed\n"

    saved = SENTENCE.replace("غدا", "اليوم")
    with client_of(desk) as client:
        client.save_translation(saved, "Approved on the command line.", memory="cli")
    article = tmp_path / "article.txt"
    article.write_text(saved, encoding="utf-8")
    assert main(["translate", str(article), "--memory", "cli", "--glossary-id", glossary_id, *server]) == 0
    assert capsys.readouterr().out.strip() == "Approved on the command line."
    assert main(["memory", "search", EDITED.replace("بعد غد", "اليوم"), "--memory", "cli", *server]) == 0
    similarity, source, translation, _ = capsys.readouterr().out.strip().split("\t")
    assert (source, translation) == (saved, "Approved on the command line.") and float(similarity) >= 0.75
    exported = tmp_path / "cli.tmx"
    assert main(["memory", "export", "--memory", "cli", "-o", str(exported), *server]) == 0
    assert main(["memory", "import", str(exported), "--memory", "cli-copy", *server]) == 0
    assert capsys.readouterr().out.strip() == "1 units read, 1 entries saved into memory 'cli-copy'"
    assert main(["glossary", "delete", glossary_id, *server]) == 0
    assert main(["glossary", "show", glossary_id, *server]) == 1
    assert "no glossary with id" in capsys.readouterr().err


@contextlib.contextmanager
def client_of(server: ServerThread) -> Iterator[Any]:
    from tarjama_client import TarjamaClient

    with TarjamaClient(server.address, timeout=WAIT_SECONDS) as client:
        yield client
