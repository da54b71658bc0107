"""The `tarjama` command line against the test server."""

from __future__ import annotations

import gzip
import json

import pytest
from tarjama_client.cli import main

from .helpers import SEED_ARTICLE


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_translate_file_prints_text_and_warns_about_untrained_models(server, capsys) -> None:
    code, out, err = run(capsys, "--server", server.address, "translate", str(SEED_ARTICLE))
    assert code == 0
    assert out.strip()
    assert "UNTRAINED" in err


def test_translate_json_has_segments_with_offsets(server, capsys) -> None:
    code, out, _ = run(capsys, "--server", server.address, "translate", "--json", str(SEED_ARTICLE))
    assert code == 0
    data = json.loads(out)
    segments = data["translations"][0]["segments"]
    assert len(segments) == 20
    assert segments[0]["source_start"] == 0
    assert data["usage"]["input_tokens"] > 0


def stdin_with(monkeypatch, data: bytes) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_translate_stdin_streaming(server, capsys, monkeypatch) -> None:
    stdin_with(monkeypatch, "جملة أولى. جملة ثانية.".encode())
    code, out, err = run(capsys, "--server", server.address, "translate", "--stream", "-")
    assert code == 0
    assert out.strip()
    assert "segment" not in err  # no progress bar when stderr is not a terminal


def test_stream_json_writes_one_object_per_segment(server, capsys) -> None:
    code, out, _ = run(capsys, "--server", server.address, "translate", "--stream", "--json", str(SEED_ARTICLE))
    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["segment_index"] for e in events] == list(range(20))
    assert all(e["total_segments"] == 20 for e in events)


def test_stream_shows_a_progress_bar_on_a_terminal(server, capsys, monkeypatch) -> None:
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    code, _, err = run(capsys, "--server", server.address, "translate", "--stream", str(SEED_ARTICLE))
    assert code == 0
    assert "20/20" in err and "segment" in err


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "cp1256", "iso8859_6"])
def test_input_encoding_is_detected(server, capsys, tmp_path, encoding: str) -> None:
    article = SEED_ARTICLE.read_text(encoding="utf-8")
    path = tmp_path / "article.txt"
    path.write_bytes(article.encode(encoding))
    code, out, _ = run(capsys, "--server", server.address, "translate", "--json", str(path))
    assert code == 0
    (translation,) = json.loads(out)["translations"]
    assert [s["source"] for s in translation["segments"]] == [
        article[s["source_start"] : s["source_end"]] for s in translation["segments"]
    ]
    assert len(translation["segments"]) == 20


def test_encoding_can_be_forced(server, capsys, tmp_path) -> None:
    path = tmp_path / "short.txt"
    path.write_bytes("حلب".encode("cp1256"))
    code, out, _ = run(capsys, "--server", server.address, "translate", "--json", "--encoding", "cp1256", str(path))
    assert code == 0 and json.loads(out)["translations"][0]["segments"][0]["source"] == "حلب"
    code, _, err = run(capsys, "--server", server.address, "translate", "--encoding", "utf-8", str(path))
    assert code == 1 and "not valid utf-8" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (gzip.compress(b"hello"), "gzip data"),
        (b"\x00\x01\x02binary\x00", "binary data"),
        (b"%PDF-1.7 ...", "a PDF"),
    ],
)
def test_binary_input_gets_one_line(server, capsys, monkeypatch, tmp_path, data: bytes, message: str) -> None:
    path = tmp_path / "input.bin"
    path.write_bytes(data)
    code, out, err = run(capsys, "--server", server.address, "translate", str(path))
    assert (code, out) == (1, "")
    assert message in err and len(err.strip().splitlines()) == 1
    stdin_with(monkeypatch, data)
    code, _, err = run(capsys, "--server", server.address, "translate", "-")
    assert code == 1 and "standard input" in err and len(err.strip().splitlines()) == 1


def test_summarize_and_models(server, capsys) -> None:
    code, out, _ = run(capsys, "--server", server.address, "summarize", "--json", "--language", "ar", str(SEED_ARTICLE))
    assert code == 0 and json.loads(out)["summary_language"] == "ar"
    code, out, _ = run(capsys, "--server", server.address, "models")
    assert code == 0 and "translation" in out and "summarization" in out and "NOTE" in out


def test_errors_exit_1_with_the_server_message(server, capsys, tmp_path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("   ")
    code, _, err = run(capsys, "--server", server.address, "translate", str(empty))
    assert code == 1 and "INVALID_ARGUMENT" in err and "is empty" in err
    code, _, err = run(capsys, "--server", server.address, "translate", str(tmp_path / "missing.txt"))
    assert code == 1 and "missing.txt" in err


def test_unreachable_server_says_what_to_check(capsys) -> None:
    code, _, err = run(capsys, "--server", "127.0.0.1:1", "--timeout", "60", "--no-retries", "models")
    assert code == 1
    assert "cannot reach a Tarjama server at 127.0.0.1:1 (plaintext)" in err and "--server" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("address", ["127.0.0.1:503000", "localhost:", "not an address"])
def test_bad_address_is_refused_before_dialling(capsys, address: str) -> None:
    code, _, err = run(capsys, "--server", address, "models")
    assert code == 2 and ("port" in err or "not a server address" in err)
    assert "Traceback" not in err


@pytest.mark.parametrize("threshold", ["nan", "-0.1", "1.5", "inf"])
def test_a_threshold_outside_0_to_1_is_refused_before_dialling(capsys, threshold: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--server", "127.0.0.1:1", "translate", "--threshold", threshold, "-"])
    assert exited.value.code == 2 and "between 0 and 1" in capsys.readouterr().err


def test_host_alone_means_the_default_port() -> None:
    from tarjama_client._channel import normalize_target

    assert normalize_target("localhost") == "localhost:50051"
    assert normalize_target("[::1]") == "[::1]:50051"
    assert normalize_target("dns:///tarjama-headless:50051") == "dns:///tarjama-headless:50051"


def test_timeout_names_the_flag(server, capsys) -> None:
    code, _, err = run(capsys, "--server", server.address, "--timeout", "0.001", "translate", str(SEED_ARTICLE))
    assert code == 1 and "--timeout 0.001" in err


def test_ctrl_c_exits_130_quietly(server, capsys, monkeypatch) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("tarjama_client.client.TarjamaClient.translate", interrupted)
    code, out, err = run(capsys, "--server", server.address, "translate", str(SEED_ARTICLE))
    assert (code, out, err) == (130, "", "")
