"""The `tarjama` command line against the test server."""

from __future__ import annotations

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


def test_translate_stdin_streaming(server, capsys, monkeypatch) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("جملة أولى. جملة ثانية."))
    code, _out, err = run(capsys, "--server", server.address, "translate", "--stream", "-")
    assert code == 0
    assert "[0] 2/2" in err


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


def test_unreachable_server(capsys) -> None:
    code, _, err = run(capsys, "--server", "127.0.0.1:1", "--timeout", "60", "models")
    assert code == 1 and "UNAVAILABLE" in err
