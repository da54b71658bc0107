"""Summaries of HTML read the document's text (SummarizeRequest.mime_type), on both wires and from
the command line; ServerInfo lists the summary styles the page offers."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from tarjama_client.cli import main

from .helpers import ServerThread

SENTENCE = "قالت وكالة الأنباء إن القوات الحكومية سيطرت على أحياء في شرق المدينة بعد معارك استمرت أسابيع."
# The same sentence in a page full of what a reader never reads: a script, styles, links, attributes.
PAGE = (
    "<!doctype html><html><head><style>p { color: #123456; margin: 0 auto; }</style>"
    '<script>var tracker = "https://example.com/collect?id=123456789&ref=" + document.referrer;</script></head>'
    '<body><p class="lead" data-id="9f8e7d6c"><a href="https://example.com/news/2026/12/04/story-123456">'
    f"{SENTENCE}</a></p></body></html>"
)


def api(url: str, method: str, message: dict[str, Any]) -> Any:
    sent = urllib.request.Request(
        f"{url}tarjama.v1.TarjamaService/{method}", json.dumps(message).encode(), {"content-type": "application/json"}
    )
    with urllib.request.urlopen(sent, timeout=120) as reply:
        return json.load(reply)


def test_an_html_summary_reads_the_documents_text(http_server: ServerThread) -> None:
    url = http_server.http_url
    request = {"summaryLanguage": "ar", "style": "SUMMARY_STYLE_HEADLINE"}
    as_text = api(url, "Summarize", {**request, "text": SENTENCE})
    as_html = api(url, "Summarize", {**request, "text": PAGE, "mimeType": "text/html; charset=utf-8"})
    assert as_html["usage"]["inputTokens"] == as_text["usage"]["inputTokens"]
    assert as_html["summary"] == as_text["summary"]
    # Without the type the markup is read as text: many more tokens (what the page and CLI sent before).
    as_markup = api(url, "Summarize", {**request, "text": PAGE})
    assert as_markup["usage"]["inputTokens"] > 2 * as_text["usage"]["inputTokens"]


def test_an_html_document_without_text_is_refused_with_a_reason(http_server: ServerThread) -> None:
    sent = urllib.request.Request(
        f"{http_server.http_url}tarjama.v1.TarjamaService/Summarize",
        json.dumps({"text": "<p><img src=x.png></p><script>var a = 1;</script>", "mimeType": "text/html"}).encode(),
        {"content-type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(sent, timeout=60)
    assert refused.value.code == 400
    assert "nothing to summarize" in json.load(refused.value)["message"]


def test_the_cli_summarizes_an_html_file_from_its_text(
    server: ServerThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "b.html").write_text(PAGE, encoding="utf-8")
    (tmp_path / "b.txt").write_text(SENTENCE, encoding="utf-8")
    tokens = {}
    for name in ("b.html", "b.txt"):
        assert main(["--server", server.address, "summarize", "--json", "--language", "ar", str(tmp_path / name)]) == 0
        tokens[name] = json.loads(capsys.readouterr().out)["usage"]["input_tokens"]
    assert tokens["b.html"] == tokens["b.txt"]


def test_server_info_lists_the_summary_styles(http_server: ServerThread) -> None:
    from tarjama_server.core.recipes import DEFAULT_STYLE, STYLES

    server = api(http_server.http_url, "ListModels", {})["server"]
    assert server["summaryStyles"] == list(STYLES)
    assert server["defaultSummaryStyle"] == DEFAULT_STYLE
