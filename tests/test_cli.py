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


class Piped:
    """Standard input with text piped in (not a terminal), or a terminal with nothing piped."""

    def __init__(self, data: bytes, terminal: bool = False) -> None:
        import io

        self.buffer = io.BytesIO(data)
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


def test_translate_reads_piped_stdin_without_a_dash(server, capsys, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", Piped("جملة أولى. جملة ثانية.".encode()))
    code, out, _ = run(capsys, "--server", server.address, "translate", "--json")
    assert code == 0
    assert [s["source"] for s in json.loads(out)["translations"][0]["segments"]] == ["جملة أولى.", "جملة ثانية."]
    monkeypatch.setattr("sys.stdin", Piped(SEED_ARTICLE.read_bytes()))
    code, out, _ = run(capsys, "--server", server.address, "summarize", "--json")
    assert code == 0 and json.loads(out)["usage"]["input_tokens"] > 100  # the whole article was read


def test_translate_on_a_terminal_with_no_file_says_what_to_give(capsys, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", Piped(b"", terminal=True))
    code, out, err = run(capsys, "--server", "127.0.0.1:1", "translate")
    assert (code, out) == (2, "")
    assert "name a FILE, or pipe the text in" in err and len(err.strip().splitlines()) == 1


HTML = '<p class="lead">جملة أولى هنا. <b>جملة</b> ثانية هنا.</p>\n'


def test_html_with_confidence_keeps_the_markup_and_lists_the_low_segments(server, capsys, tmp_path) -> None:
    page = tmp_path / "page.html"
    page.write_text(HTML, encoding="utf-8")
    code, plain, _ = run(capsys, "--server", server.address, "translate", str(page))
    assert code == 0 and plain.startswith('<p class="lead">') and "<b>" in plain
    # A threshold of 1 puts every scored segment below it.
    code, out, err = run(capsys, "--server", server.address, "translate", "--threshold", "1", str(page))
    assert code == 0
    assert out == plain  # the document as the server rebuilt it: markup kept, no markers inside it
    assert "[[" not in out
    assert "text 1, segment 1 (" in err and "2 of 2 translated segments below confidence 1, listed above" in err


def test_stream_refuses_html_it_would_print_without_its_markup(capsys, tmp_path) -> None:
    page = tmp_path / "page.html"
    page.write_text(HTML, encoding="utf-8")
    code, out, err = run(capsys, "--server", "127.0.0.1:1", "translate", "--stream", str(page))
    assert (code, out) == (2, "") and "leave out --stream to keep the markup" in err


def test_summary_styles_come_from_the_proto_alone() -> None:
    """The style names are the proto enum's (SUMMARY_STYLE_*): the client writes none of them."""
    import ast
    from pathlib import Path

    import tarjama_client
    from tarjama_client._convert import STYLE_NAMES
    from tarjama_client.cli import build_parser
    from tarjama_client.v1 import tarjama_pb2 as pb

    from_proto = {name.removeprefix("SUMMARY_STYLE_").lower() for name in pb.SummaryStyle.keys()} - {"unspecified"}
    assert set(STYLE_NAMES) == from_proto
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for command in ("summarize", "batch"):
        (style,) = [a for a in commands[command]._actions if a.dest == "style"]
        assert tuple(style.choices) == STYLE_NAMES
    package = Path(tarjama_client.__file__).parent
    written = [
        f"{path.name}:{node.lineno}"
        for path in package.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and node.value in from_proto
    ]
    assert not written, f"style names written by hand: {written}"
