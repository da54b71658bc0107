"""``tarjama batch`` and ``translate_many`` against real servers on the tiny models: an
archive with bad items, killed with SIGKILL part-way and run again, and the pieces one by one
(resume from a torn line, folders, pushback, summaries)."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
from tarjama_client import AsyncTarjamaClient, BatchItem, RetryPolicy, TarjamaClient
from tarjama_client.archive import ArchiveError, Journal
from tarjama_client.cli import main
from tarjama_client.v1 import tarjama_pb2 as pb
from tarjama_client.v1 import tarjama_pb2_grpc as pb_grpc

from .helpers import SEED_ARTICLE, WAIT_SECONDS, ServerThread, join, tiny_settings, wait_for, wrapping_loader

SENTENCES = [s.strip() + "." for s in SEED_ARTICLE.read_text(encoding="utf-8").split(".") if len(s.strip()) > 20]
ROOT = Path(__file__).resolve().parents[1]


def good_items(count: int) -> list[dict[str, Any]]:
    # Each item its own text: one or two sentences of the seed article, with its number.
    return [
        {"id": f"item-{n}", "text": f"{SENTENCES[n % len(SENTENCES)]} {n}" + (" " + SENTENCES[0]) * (n % 2)}
        for n in range(count)
    ]


# Entries that can never be translated, and the error each must carry.
BAD_LINES = {
    "empty": ('{"id": "empty", "text": "   "}', "is empty"),
    "french": (json.dumps({"id": "french", "text": "Bonjour à tous, ceci est un article en français."}), "French"),
    "too-long": (json.dumps({"id": "too-long", "text": "ب" * 200_001}), "200000"),
    "html-type": (json.dumps({"id": "html-type", "text": "نص", "mime_type": "application/pdf"}), "mime_type"),
    "no-text": ('{"id": "no-text", "body": "نص"}', "no 'text' field"),
    "language": (json.dumps({"id": "language", "text": "نص", "source_language": "klingon"}), "source_language"),
}
MALFORMED = '{"id": "broken", "text": "نص'  # not JSON, its closing quote and brace missing; its id readable


def write_archive(path: Path, good: Sequence[dict[str, Any]]) -> None:
    lines = [json.dumps(item, ensure_ascii=False) for item in good]
    for offset, (line, _) in enumerate(BAD_LINES.values()):
        lines.insert(7 + offset * 11, line)
    lines.insert(40, MALFORMED)
    lines.insert(50, json.dumps({"id": good[3]["id"], "text": "the same id again"}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_output(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


class StopAfter:
    """A real engine that runs ``batches`` batches, then holds the next until ``release``."""

    def __init__(self, engine: Any, batches: int) -> None:
        self.engine = engine
        self.info = engine.info
        self.left = batches
        self.held = threading.Event()
        self.release = threading.Event()

    def count_tokens(self, text: str) -> int:
        return self.engine.count_tokens(text)

    def generate(self, texts, params):
        if self.left <= 0:
            self.held.set()
            if not self.release.wait(WAIT_SECONDS):
                raise TimeoutError("the test never released the engine")
        self.left -= 1
        return self.engine.generate(texts, params)


class AccessLog(logging.Handler):
    """The server's access-log lines, as the fields it logs."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.calls.append(dict(record.fields))  # type: ignore[attr-defined]

    def ok(self, method: str = "Translate") -> int:
        return sum(1 for call in list(self.calls) if call["method"] == method and call["status"] == "OK")


@contextlib.contextmanager
def access_log() -> Iterator[AccessLog]:
    logger = logging.getLogger("tarjama_server.access")
    handler, level = AccessLog(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def batch_command(address: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "tarjama_client.cli", "--server", address, "batch", *args]


def start_batch(address: str, archive: Path, output: Path) -> subprocess.Popen[bytes]:
    command = batch_command(address, str(archive), "--output", str(output), "--concurrency", "4")
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)


def test_an_archive_killed_part_way_is_finished_by_a_second_run(models_dir, tmp_path) -> None:
    good = good_items(240)
    archive, output = tmp_path / "archive.jsonl", tmp_path / "out.jsonl"
    write_archive(archive, good)
    engines: list[StopAfter] = []
    settings = tiny_settings(models_dir, summarization_model="none")
    server = ServerThread(settings, wrapping_loader(lambda e: StopAfter(e, batches=6), engines)).start()
    engine = engines[0]
    with server, access_log() as log:
        try:
            first = start_batch(server.address, archive, output)
            try:
                wait_for(engine.held.is_set, "the first run reached the held batch")
                wait_for(lambda: output.exists() and output.stat().st_size > 0, "the first run wrote lines")
            finally:
                first.send_signal(signal.SIGKILL)
                first.communicate(timeout=WAIT_SECONDS)
            assert first.returncode == -signal.SIGKILL
            # The killed client's calls end at the server (cancelled) before the engine runs again.
            wait_for(lambda: server.server is not None and server.server.state.in_flight == 0, "calls ended")
            first_lines = read_output(output)
            translated_first = sum("translation" in line for line in first_lines)
            translated_by_server_first = log.ok()
            assert 0 < len(first_lines) < len(good)

            # SIGTERM (a Job's pod deleted) while calls wait at the server: they are cancelled, the
            # summary printed. Bad items may have got their lines meanwhile, translations not.
            terminated = start_batch(server.address, archive, output)
            try:
                wait_for(lambda: log.ok("ListModels") == 2, "the second run asked for the models")
                wait_for(lambda: server.server.state.in_flight > 0, "the second run's calls reached the server")
            finally:
                terminated.send_signal(signal.SIGTERM)
                stdout, _ = terminated.communicate(timeout=WAIT_SECONDS)
            assert terminated.returncode == 143
            assert json.loads(stdout)["stopped"] == "terminated (SIGTERM)"
            wait_for(lambda: server.server.state.in_flight == 0, "the terminated run's calls ended")
            assert log.ok() == translated_by_server_first
            first_lines = read_output(output)
            assert sum("translation" in line for line in first_lines) == translated_first
            engine.release.set()

            second = start_batch(server.address, archive, output)
            second_out, second_err = (text.decode() for text in second.communicate(timeout=WAIT_SECONDS * 2))
            translated_by_server_second = log.ok() - translated_by_server_first
        finally:
            engine.release.set()  # a failed test leaves no batch held

    assert second.returncode == 3, second_err  # every item has a line, some of them errors
    summary = json.loads(second_out)
    lines = read_output(output)
    ids = [json.dumps(line["id"]) for line in lines]
    # Every id exactly once, the malformed line's read from what of it is whole.
    assert len(ids) == len(set(ids)) == len(good) + len(BAD_LINES) + 1
    assert {line["id"] for line in lines} == {item["id"] for item in good} | set(BAD_LINES) | {"broken"}
    by_id = {line["id"]: line for line in lines}
    for item in good:
        translation = by_id[item["id"]]["translation"]
        assert translation["text"] and translation["segments"][0]["source_start"] == 0
        assert translation["segments"][-1]["source_end"] == len(item["text"])
    for item_id, (_, message) in BAD_LINES.items():
        assert by_id[item_id]["error"]["code"] == "INVALID_ARGUMENT", item_id
        assert message in by_id[item_id]["error"]["message"], item_id
    broken = by_id["broken"]
    assert broken["error"]["code"] == "INVALID_ARGUMENT" and broken["line"] == 41
    assert "not valid JSON" in broken["error"]["message"]
    assert "the same id again" not in output.read_text(encoding="utf-8")
    # Nothing translated twice: the second run sent only the items the first left without a
    # line; the first lost at most its calls in flight (the server finished them, nobody wrote them).
    assert translated_by_server_second == len(good) - translated_first
    assert 0 <= translated_by_server_first - translated_first <= 4
    assert summary["complete"] and summary["resumed"] == len(first_lines)
    assert summary["translated"] == len(good) and summary["errors"] == {"INVALID_ARGUMENT": len(BAD_LINES) + 1}
    assert summary["without_line"] == 0 and summary["duplicate_ids"] == 1
    assert "repeats an earlier id" in second_err and "line 51" in second_err
    assert summary["failed"] == len(BAD_LINES) + 1
    failed = next(line for line in second_err.splitlines() if "items failed" in line)
    assert all(f'"{item_id}"' in failed for item_id in [*BAD_LINES, "broken"]) and "--retry-failed" in failed


def test_a_torn_last_line_is_dropped_on_resume_and_the_item_done_again(server, tmp_path, capsys) -> None:
    archive, output = tmp_path / "archive.jsonl", tmp_path / "out.jsonl"
    archive.write_text("\n".join(json.dumps(item, ensure_ascii=False) for item in good_items(5)) + "\n")
    assert main(["--server", server.address, "batch", str(archive), "-o", str(output)]) == 0
    whole = output.read_bytes()
    last = whole.rstrip(b"\n").rsplit(b"\n", 1)[1]
    output.write_bytes(whole[: -len(last) // 2])  # a crash in the middle of the last write
    capsys.readouterr()
    assert main(["--server", server.address, "batch", str(archive), "-o", str(output)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["torn_line_dropped"] and summary["written"] == 1 and summary["resumed"] == 4
    assert sorted(line["id"] for line in read_output(output)) == [f"item-{n}" for n in range(5)]


def test_a_progress_bar_on_a_terminal_only(server, tmp_path, capsys, monkeypatch) -> None:
    archive = tmp_path / "archive.jsonl"
    archive.write_text("\n".join(json.dumps(item, ensure_ascii=False) for item in good_items(3)) + "\n")
    assert main(["--server", server.address, "batch", str(archive), "-o", str(tmp_path / "piped.jsonl")]) == 0
    assert "segments/s" not in capsys.readouterr().err
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert main(["--server", server.address, "batch", str(archive), "-o", str(tmp_path / "shown.jsonl")]) == 0
    err = capsys.readouterr().err
    assert "3/3" in err and "segments/s" in err and "item" in err


def test_the_journal_refuses_what_it_did_not_write_and_a_second_writer(tmp_path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text('{"id": "a", "error": {"code": "INVALID_ARGUMENT"}}\nnot json\n{"id": "b"}\n')
    with pytest.raises(ArchiveError, match=r"out.jsonl:2 is not a line tarjama batch wrote"):
        Journal(path).open()
    path.write_text('{"id": "a", "translation": {}}\n{"id": "a", "translation": {}}\n')
    with pytest.raises(ArchiveError, match=r"out.jsonl:2: the id \"a\" has a line already"):
        Journal(path).open()
    path.write_text('{"id": 7, "translation": {}}\n{"id": "7", "translation": {}}\n')  # 7 and "7" differ
    journal = Journal(path)
    assert journal.open().keys == {"7", '"7"'}
    with pytest.raises(ArchiveError, match="another tarjama batch"):
        Journal(path).open()
    journal.close()


def test_a_folder_is_mirrored_in_the_output_folder(server, tmp_path, capsys) -> None:
    source, output = tmp_path / "in", tmp_path / "out"
    (source / "desk" / "old").mkdir(parents=True)
    (source / "a.txt").write_text(SENTENCES[0], encoding="utf-8")
    (source / "desk" / "old" / "b.txt").write_bytes(SENTENCES[1].encode("cp1256"))
    (source / "desk" / "c.html").write_text(f'<p class="lead">{SENTENCES[2]}</p>', encoding="utf-8")
    (source / "desk" / "scan.txt").write_bytes(b"%PDF-1.7 ...")
    (source / "notes.md").write_text("ignored")
    code = main(["--server", server.address, "batch", str(source), "--output", str(output)])
    assert code == 3  # scan.txt failed
    lines = {line["id"]: line for line in read_output(output / "tarjama-batch.jsonl")}
    assert set(lines) == {"a.txt", "desk/old/b.txt", "desk/c.html", "desk/scan.txt"}
    scan = lines["desk/scan.txt"]["error"]
    assert scan["code"] == "INVALID_ARGUMENT" and "PDF" in scan["message"]
    assert lines["desk/old/b.txt"]["translation"]["segments"][0]["source"] == SENTENCES[1]  # decoded from cp1256
    for name in ("a.txt", "desk/old/b.txt", "desk/c.html"):
        assert (output / name).read_text(encoding="utf-8") == lines[name]["translation"]["text"]
    assert (output / "desk" / "c.html").read_text(encoding="utf-8").startswith('<p class="lead">')
    assert not (output / "desk" / "scan.txt").exists()
    capsys.readouterr()
    assert main(["--server", server.address, "batch", str(source), "--output", str(output)]) == 3
    assert json.loads(capsys.readouterr().out)["written"] == 0
    assert main(["--server", server.address, "batch", str(source), "--output", str(source / "out")]) == 2
    assert "inside the input folder" in capsys.readouterr().err


def test_summaries_with_a_style_and_other_field_names(server, tmp_path, capsys) -> None:
    archive, output = tmp_path / "feed.jsonl", tmp_path / "out.jsonl"
    archive.write_text(
        "\n".join(json.dumps({"guid": n, "body": SENTENCES[n]}, ensure_ascii=False) for n in range(3)) + "\n"
    )
    argv = ["--server", server.address, "batch", str(archive), "-o", str(output), "--id-field", "guid"]
    assert main(argv) == 2  # the text field named wrong: stopped before any line
    assert "has no 'text' field (it has 'guid', 'body'): name it with --text-field" in capsys.readouterr().err
    assert not output.exists()
    packed = tmp_path / "feed.jsonl.gz"
    packed.write_bytes(gzip.compress(archive.read_bytes()))
    assert main(["--server", server.address, "batch", str(packed), "-o", str(output)]) == 2
    assert "is gzip data, not JSON Lines" in capsys.readouterr().err
    code = main([*argv, "--text-field", "body", "--summarize", "--style", "headline"])
    assert code == 0
    lines = read_output(output)
    assert sorted(line["id"] for line in lines) == [0, 1, 2]
    assert all(line["summary"]["style"] == "headline" and line["summary"]["summary"] for line in lines)
    assert "UNTRAINED" in capsys.readouterr().err


def test_summarize_without_a_summarizer_stops_before_any_item(models_dir, tmp_path, capsys) -> None:
    archive = tmp_path / "feed.jsonl"
    archive.write_text(json.dumps({"id": 1, "text": SENTENCES[0]}) + "\n")
    with ServerThread(tiny_settings(models_dir, summarization_model="none")).start() as server:
        code = main(["--server", server.address, "batch", str(archive), "-o", str(tmp_path / "o.jsonl"), "--summarize"])
    assert code == 2 and "no summarization model" in capsys.readouterr().err
    assert (tmp_path / "o.jsonl").read_text() == ""


# -- translate_many ------------------------------------------------------------------------------


def test_translate_many_yields_every_item_once_with_its_error(server) -> None:
    items = [BatchItem(id=n, text=SENTENCES[n]) for n in range(6)] + [BatchItem(id="empty", text=" ")]
    with TarjamaClient(server.address) as client:
        results = list(client.translate_many(items, concurrency=3))
        bare = list(client.translate_many(["جملة.", "جملة ثانية."]))
    assert sorted(map(str, (r.id for r in results))) == sorted(map(str, [*range(6), "empty"]))
    by_id = {r.id: r for r in results}
    assert by_id["empty"].error is not None and by_id["empty"].error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert all(by_id[n].ok and by_id[n].result.translations[0].segments for n in range(6))
    assert sorted(r.id for r in bare) == [0, 1]


async def test_translate_many_on_the_asyncio_client_stops_when_closed(server) -> None:
    async with AsyncTarjamaClient(server.address) as client:
        results = [r async for r in client.translate_many([SENTENCES[0], SENTENCES[1]], summarize=True)]
        assert sorted(r.id for r in results) == [0, 1] and all(r.summary and r.summary.summary for r in results)
        many = client.translate_many(SENTENCES * 20, concurrency=2)
        async with contextlib.aclosing(many):
            first = await anext(many)
        assert first.ok
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert not [t for t in tasks if "_one" in repr(t.get_coro())], "calls left running"


def test_breaking_out_of_the_sync_translate_many_ends_its_thread(server) -> None:
    with TarjamaClient(server.address) as client:
        for result in client.translate_many(SENTENCES * 20, concurrency=2):
            assert result.ok
            break
    for thread in threading.enumerate():
        if thread.name == "tarjama-many":
            join(thread)


class Busy(pb_grpc.TarjamaServiceServicer):
    """Refuses the first ``refusals`` Translate calls with a pushback; records when each call came."""

    def __init__(self, refusals: int, pushback_ms: int) -> None:
        self.refusals = refusals
        self.pushback_ms = pushback_ms
        self.arrivals: list[tuple[float, bool]] = []  # (monotonic time, refused)
        self._lock = threading.Lock()

    def Translate(self, request, context):
        with self._lock:
            refused = len([a for a in self.arrivals if a[1]]) < self.refusals
            self.arrivals.append((time.monotonic(), refused))
        if refused:
            context.set_trailing_metadata((("grpc-retry-pushback-ms", str(self.pushback_ms)),))
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "busy")
        return pb.TranslateResponse(translations=[pb.Translation(text="ok")], model="scripted")

    def ListModels(self, request, context):
        return pb.ListModelsResponse(models=[pb.ModelInfo(id="scripted", task=pb.TASK_TRANSLATION)])


@contextlib.contextmanager
def scripted(servicer: pb_grpc.TarjamaServiceServicer) -> Iterator[str]:
    """A gRPC server of ``servicer`` on a free loopback port: its address."""
    server = grpc.server(ThreadPoolExecutor(8))
    pb_grpc.add_TarjamaServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(0)


@pytest.fixture
def busy_server() -> Iterator[tuple[str, Busy]]:
    servicer = Busy(refusals=1, pushback_ms=300)
    with scripted(servicer) as address:
        yield address, servicer


def test_translate_many_waits_out_the_servers_pushback(busy_server) -> None:
    address, servicer = busy_server
    with TarjamaClient(address) as client:  # the refused call is retried after the pushback
        results = list(client.translate_many([f"نص {n}" for n in range(12)], concurrency=4))
    assert len(results) == 12 and all(r.ok for r in results)
    servicer.arrivals.clear()
    with TarjamaClient(address, retry=RetryPolicy.disabled()) as client:
        results = list(client.translate_many([f"نص {n}" for n in range(4)], concurrency=1))
    assert [r.error.code if r.error else None for r in results] == [grpc.StatusCode.RESOURCE_EXHAUSTED] + [None] * 3
    # Not retried, yet the next item's call came only once the pushback (300 ms) had passed.
    (refused_at, _), (next_at, _) = servicer.arrivals[:2]
    assert next_at - refused_at >= 0.3


def test_items_the_servers_could_not_take_get_no_line_and_exit_1(busy_server, tmp_path, capsys) -> None:
    address, servicer = busy_server
    servicer.refusals = 2
    archive, output = tmp_path / "a.jsonl", tmp_path / "o.jsonl"
    archive.write_text("".join(json.dumps({"id": n, "text": f"نص {n}"}) + "\n" for n in range(5)))
    assert main(["--server", address, "--no-retries", "batch", str(archive), "-o", str(output)]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["without_line_by_code"] == {"RESOURCE_EXHAUSTED": 2} and summary["without_line"] == 2
    assert len(read_output(output)) == 3 and not summary["complete"]
    assert main(["--server", address, "batch", str(archive), "-o", str(output)]) == 0
    assert sorted(line["id"] for line in read_output(output)) == list(range(5))


# -- failed items, torn lines, shards, standard input ------------------------------------------


def test_failed_items_exit_3_are_named_on_stderr_and_sent_again_with_retry_failed(server, tmp_path, capsys) -> None:
    archive, output = tmp_path / "a.jsonl", tmp_path / "o.jsonl"
    items = [{"id": "good", "text": SENTENCES[0]}, {"id": "empty", "text": " "}, {"id": 7, "text": ""}]
    archive.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items), encoding="utf-8")
    argv = ["--server", server.address, "batch", str(archive), "-o", str(output)]
    assert main(argv) == 3
    captured = capsys.readouterr()
    assert json.loads(captured.out)["failed"] == 2
    assert "2 items failed, each with its error in" in captured.err and '"empty", 7.' in captured.err
    assert "--retry-failed" in captured.err
    assert main(argv) == 3  # nothing sent again: the same two are named
    assert '"empty", 7.' in capsys.readouterr().err
    items[1]["text"], items[2]["text"] = SENTENCES[1], SENTENCES[2]  # the input fixed
    archive.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items), encoding="utf-8")
    assert main([*argv, "--retry-failed"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["retried_failed"] == 2 and summary["written"] == 2 and summary["failed"] == 0
    lines = read_output(output)
    assert sorted(map(str, (line["id"] for line in lines))) == ["7", "empty", "good"]
    assert all("translation" in line for line in lines)


@pytest.mark.parametrize(
    ("line", "item_id"),
    [
        ('{"id": "broken", "text": "نص', "broken"),
        ('{"id": 12, "text": "نص"', 12),
        ('  { "text": "a \\"quoted\\" word", "id" : "late", "x": [1, ', "late"),
        ('{"text": "it says \\"id\\": \\"fake\\" and ends', None),  # the id never came whole
        ('{"id": "cut-off', None),
        ('{"id": true, "text": "', None),
        ('{"meta": {"id": "inner"}, "text": "', None),  # not the top-level id
        ('["id", "x"', None),
    ],
)
def test_a_line_missing_its_end_keeps_the_id_it_holds_whole(line: str, item_id) -> None:
    from tarjama_client.archive import Rejected, _jsonl_entry

    rejected = _jsonl_entry(line.encode(), 5, "id", "text")
    assert isinstance(rejected, Rejected) and rejected.id == item_id and rejected.line == 5
    assert "line 5 is not valid JSON" in rejected.message


class Echo(pb_grpc.TarjamaServiceServicer):
    """Translates each text to itself, upper-cased; records the texts it was sent."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self._lock = threading.Lock()

    def Translate(self, request, context):
        with self._lock:
            self.texts.extend(request.texts)
        return pb.TranslateResponse(
            translations=[pb.Translation(text=text.upper()) for text in request.texts], model="echo"
        )

    def ListModels(self, request, context):
        return pb.ListModelsResponse(models=[pb.ModelInfo(id="echo", task=pb.TASK_TRANSLATION)])


@pytest.fixture
def echo_server() -> Iterator[tuple[str, Echo]]:
    servicer = Echo()
    with scripted(servicer) as address:
        yield address, servicer


def write_items(path: Path, count: int) -> list[Any]:
    ids: list[Any] = [n if n % 3 == 0 else f"article-{n}" for n in range(count)]
    path.write_text("".join(json.dumps({"id": i, "text": f"text {i}"}) + "\n" for i in ids), encoding="utf-8")
    return ids


def test_three_shards_translate_what_one_run_does_each_item_once(echo_server, tmp_path, capsys, monkeypatch) -> None:
    address, echo = echo_server
    archive = tmp_path / "archive.jsonl"
    ids = write_items(archive, 60)
    assert main(["--server", address, "batch", str(archive), "-o", str(tmp_path / "all.jsonl")]) == 0
    whole = {json.dumps(line["id"]): line for line in read_output(tmp_path / "all.jsonl")}
    assert len(whole) == len(ids)
    echo.texts.clear()
    capsys.readouterr()
    parts: list[list[dict[str, Any]]] = []
    for index in range(3):
        part = tmp_path / f"part-{index}.jsonl"
        if index == 2:  # the way an Indexed Job's pod names its shard
            monkeypatch.setenv("JOB_COMPLETION_INDEX", "2")
            monkeypatch.setenv("TARJAMA_SHARDS", "3")
            argv = ["--server", address, "batch", str(archive), "-o", str(part)]
        else:
            argv = ["--server", address, "batch", "--shard", f"{index}/3", str(archive), "-o", str(part)]
        assert main(argv) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["shard"] == f"{index}/3" and summary["items"] + summary["other_shards"] == len(ids)
        parts.append(read_output(part))
        assert main(argv) == 0  # each shard resumes on its own output: nothing left to send
        assert json.loads(capsys.readouterr().out)["written"] == 0
    sharded = [json.dumps(line["id"]) for part in parts for line in part]
    assert len(sharded) == len(set(sharded)) == len(ids)  # none twice
    assert set(sharded) == set(whole)  # the same ids as the one run
    assert all(part for part in parts)  # each shard got some
    assert sorted(echo.texts) == sorted(f"text {i}" for i in ids)  # each item sent once over the three shards
    assert {json.dumps(line["id"]): line["translation"]["text"] for part in parts for line in part} == {
        key: line["translation"]["text"] for key, line in whole.items()
    }


def test_a_shard_refuses_an_output_of_another_shard_and_an_index_without_a_count(
    echo_server, tmp_path, capsys, monkeypatch
) -> None:
    address, _ = echo_server
    archive, output = tmp_path / "archive.jsonl", tmp_path / "out.jsonl"
    write_items(archive, 30)
    assert main(["--server", address, "batch", str(archive), "-o", str(output)]) == 0  # every item, unsharded
    capsys.readouterr()
    assert main(["--server", address, "batch", "--shard", "1/3", str(archive), "-o", str(output)]) == 2
    assert "items of other shards than 1/3: each shard needs an output of its own" in capsys.readouterr().err
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "0")
    assert main(["--server", address, "batch", str(archive), "-o", str(tmp_path / "p.jsonl")]) == 2
    assert "no shard count: pass --shards N or set TARJAMA_SHARDS" in capsys.readouterr().err
    for shard in ("3/3", "1", "a/b"):
        assert main(["--server", address, "batch", "--shard", shard, str(archive), "-o", str(output)]) == 2
        assert "shard" in capsys.readouterr().err


def test_batch_dash_reads_standard_input(echo_server, tmp_path, capsys, monkeypatch) -> None:
    import io

    address, _ = echo_server
    archive, output = tmp_path / "archive.jsonl", tmp_path / "out.jsonl"
    ids = write_items(archive, 12)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(archive.read_bytes())))
    assert main(["--server", address, "batch", "-", "-o", str(output)]) == 0
    assert json.loads(capsys.readouterr().out)["items"] == len(ids)
    assert sorted(map(json.dumps, (line["id"] for line in read_output(output)))) == sorted(map(json.dumps, ids))
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b'{"guid": 1, "text": "x"}\n')))
    assert main(["--server", address, "batch", "-", "-o", str(tmp_path / "other.jsonl")]) == 2
    assert "standard input: the first item has no 'id' field" in capsys.readouterr().err
