"""The HTTP/JSON API (Connect protocol) through a real HTTP client, against real servers on tiny
models: unary and streaming calls, errors and their statuses, auth, CORS, limits, health."""

from __future__ import annotations

import http.client
import json
import logging
import struct
import threading
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import pytest
from prometheus_client import REGISTRY
from tarjama_server.loading.loader import load_engines

from .helpers import ServerThread, free_port, join, make_certificate, tiny_settings, wait_for
from .test_overload import ARTICLE, GatedEngine, gated_server, wait_until_in_engine

SERVICE = "/tarjama.v1.TarjamaService/"
TOKEN = "s3cret"


class Reply:
    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status = response.status
        self.headers = {key.lower(): value for key, value in response.getheaders()}
        self.body = response.read()

    def json(self) -> Any:
        return json.loads(self.body)

    def frames(self) -> list[tuple[int, Any]]:
        """A Connect stream's messages: (flags, decoded JSON)."""
        frames, at = [], 0
        while at < len(self.body):
            flags, length = struct.unpack_from(">BI", self.body, at)
            frames.append((flags, json.loads(self.body[at + 5 : at + 5 + length])))
            at += 5 + length
        return frames


def request(
    url: str, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None, timeout: float = 120
) -> Reply:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request(method, path, body, headers or {})
        return Reply(connection.getresponse())
    finally:
        connection.close()


def call(url: str, method: str, message: Any, *, content_type: str = "application/json", **headers: str) -> Reply:
    body = message if isinstance(message, bytes) else json.dumps(message, ensure_ascii=False).encode()
    return request(url, "POST", SERVICE + method, body, {"content-type": content_type, **headers})


def stream(url: str, message: Any, **headers: str) -> Reply:
    payload = json.dumps(message).encode()
    framed = struct.pack(">BI", 0, len(payload)) + payload
    return call(url, "StreamTranslate", framed, content_type="application/connect+json", **headers)


def inline_script(page: str) -> list[str]:
    """What the CSP would block: script elements without src, or with a body; on* handler attributes."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Finder(HTMLParser):
        in_script = False

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.extend(f"{tag} {name}" for name, _ in attrs if name.startswith("on"))
            self.in_script = tag == "script"
            if self.in_script and not dict(attrs).get("src"):
                found.append("script without src")

        def handle_data(self, data: str) -> None:
            if self.in_script and data.strip():
                found.append(f"script body {data[:40]!r}")

        def handle_endtag(self, tag: str) -> None:
            self.in_script = False

    Finder().feed(page)
    return found


def requests_counted(method: str, code: str, protocol: str) -> float:
    labels = {"method": method, "code": code, "protocol": protocol}
    return REGISTRY.get_sample_value("tarjama_requests_total", labels) or 0.0


def test_translate_json_prints_every_field_in_utf8(http_server: ServerThread, seed_article: str, caplog) -> None:
    caplog.set_level(logging.INFO)
    before = requests_counted("Translate", "OK", "http")
    reply = call(http_server.http_url, "Translate", {"texts": [seed_article]}, **{"x-request-id": "desk-7"})
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"] == "application/json" and reply.headers["x-request-id"] == "desk-7"
    assert b"\\u" not in reply.body and "حلب".encode() in reply.body  # Arabic as UTF-8, never escaped
    (translation,) = reply.json()["translations"]
    segments = translation["segments"]
    assert len(segments) == 20
    assert segments[0]["sourceStart"] == 0 and segments[0]["glossaryMissing"] == []  # zero values printed
    assert all(seed_article[s["sourceStart"] : s["sourceEnd"]] == s["source"] for s in segments)
    assert translation["text"] == "".join(s["separator"] + s["translation"] + s["trailing"] for s in segments)
    assert requests_counted("Translate", "OK", "http") == before + 1
    (line,) = [r for r in caplog.records if r.name == "tarjama_server.access" and r.fields["request_id"] == "desk-7"]
    assert line.fields["protocol"] == "http" and line.fields["segments"] == 20


def test_stream_translate_sends_each_segment_then_the_end(http_server: ServerThread, seed_article: str) -> None:
    reply = stream(http_server.http_url, {"texts": [seed_article]}, **{"x-request-id": "desk-8"})
    assert reply.status == 200 and reply.headers["content-type"] == "application/connect+json"
    *events, (end_flags, end) = reply.frames()
    assert [(flags, e["segmentIndex"], e["totalSegments"]) for flags, e in events] == [(0, i, 20) for i in range(20)]
    assert end_flags == 2 and end == {"metadata": {"x-request-id": ["desk-8"]}}  # no "error": it succeeded


def test_summarize_and_list_models(http_server: ServerThread, seed_article: str) -> None:
    summary = call(http_server.http_url, "Summarize", {"text": seed_article, "style": "SUMMARY_STYLE_HEADLINE"})
    assert summary.status == 200, summary.body
    assert summary.json()["style"] == "headline" and summary.json()["method"].startswith("summarize")
    models = call(http_server.http_url, "ListModels", {}).json()["models"]
    assert [m["task"] for m in models] == ["TASK_TRANSLATION", "TASK_SUMMARIZATION"]
    assert all(m["untrained"] is True and m["notice"] for m in models)


@pytest.mark.parametrize(
    ("method", "body", "status", "code", "message"),
    [
        ("Translate", {"texts": []}, 400, "invalid_argument", "texts is empty"),
        ("Translate", {"texts": ["حلب."], "colour": 1}, 400, "invalid_argument", 'no field named "colour"'),
        ("Translate", {"texts": "حلب."}, 400, "invalid_argument", "TranslateRequest"),
        ("Translate", b"{not json", 400, "invalid_argument", "not a valid TranslateRequest"),
        ("Translate", b'{"texts": ["\xff"]}', 400, "invalid_argument", "must be UTF-8"),
        ("Summarize", {"text": "حلب.", "style": 9}, 400, "invalid_argument", "is not a SummaryStyle"),
        ("Translit", {}, 501, "unimplemented", "TarjamaService has Translate"),
    ],
)
def test_bad_requests_get_a_status_and_a_message_saying_what_to_fix(
    http_server: ServerThread, method: str, body: Any, status: int, code: str, message: str
) -> None:
    reply = call(http_server.http_url, method, body)
    assert (reply.status, reply.json()["code"]) == (status, code)
    assert message in reply.json()["message"]
    assert reply.headers["x-request-id"]


def test_other_content_types_get_415(http_server: ServerThread) -> None:
    reply = call(http_server.http_url, "Translate", {"texts": ["حلب."]}, content_type="text/plain")
    assert reply.status == 415 and "send application/json" in reply.json()["message"]
    assert "application/json" in reply.headers["accept-post"]


def test_an_error_in_a_stream_is_its_end_message(http_server: ServerThread) -> None:
    reply = stream(http_server.http_url, {"texts": []})
    assert reply.status == 200  # Connect: a stream's errors travel in its last message
    ((flags, end),) = reply.frames()
    assert flags == 2 and end["error"]["code"] == "invalid_argument" and "texts is empty" in end["error"]["message"]


def test_request_bodies_are_bounded(http_server: ServerThread, monkeypatch) -> None:
    from tarjama_server.transport import http_service

    monkeypatch.setattr(http_service, "MAX_MESSAGE_BYTES", 1000)
    reply = call(http_server.http_url, "Translate", {"texts": ["ا" * 1000]})
    assert reply.status == 413 and reply.json()["code"] == "resource_exhausted"
    assert "the most this server reads" in reply.json()["message"]


def test_page_openapi_and_health_carry_the_security_headers(http_server: ServerThread) -> None:
    page = request(http_server.http_url, "GET", "/")
    assert page.status == 200 and b'data-testid="source"' in page.body
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert inline_script(page.body.decode()) == []
    spec = request(http_server.http_url, "GET", "/openapi.json")
    assert spec.status == 200 and spec.json()["openapi"].startswith("3.1")
    assert request(http_server.http_url, "GET", "/healthz").json() == {"status": "live"}
    assert request(http_server.http_url, "GET", "/readyz").json() == {"status": "ready"}
    # No CORS unless configured: a page on another origin cannot read the API.
    preflight = request(
        http_server.http_url,
        "OPTIONS",
        SERVICE + "Translate",
        headers={"origin": "https://elsewhere.example", "access-control-request-method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_token_cors_and_readiness_while_loading(models_dir) -> None:
    release = threading.Event()

    def slow_loader(settings):
        assert release.wait(60), "the test never released the loader"
        return load_engines(settings)

    settings = tiny_settings(
        models_dir,
        summarization_model="none",
        http_port=free_port(),
        auth_token=TOKEN,
        http_cors_origins="https://cms.example.org",
    )
    running = ServerThread(settings, slow_loader).start(wait_for_models=False)
    try:
        url, auth = running.http_url, {"authorization": f"Bearer {TOKEN}"}
        assert request(url, "GET", "/healthz").status == 200  # live, no token needed
        assert request(url, "GET", "/readyz").status == 503
        assert request(url, "GET", "/").status == 200  # the page loads, then asks for the token
        refused = call(url, "Translate", {"texts": ["حلب."]})
        assert (refused.status, refused.json()["code"]) == (401, "unauthenticated")
        assert "Authorization: Bearer" in refused.json()["message"]
        wrong = call(url, "Translate", {"texts": ["حلب."]}, authorization="Bearer nope")
        assert wrong.status == 401
        loading = call(url, "Translate", {"texts": ["حلب."]}, **auth)
        assert (loading.status, loading.json()["code"]) == (503, "unavailable")
        assert "models are still loading" in loading.json()["message"]
        allowed = {"origin": "https://cms.example.org", "access-control-request-method": "POST"}
        preflight = request(url, "OPTIONS", SERVICE + "Translate", headers=allowed)
        assert preflight.headers["access-control-allow-origin"] == "https://cms.example.org"
        assert "authorization" in preflight.headers["access-control-allow-headers"]
        release.set()
        wait_for(lambda: running.server is not None and running.server.state.pipelines is not None, "models loaded")
        assert request(url, "GET", "/readyz").json() == {"status": "ready"}
        served = call(url, "Translate", {"texts": ["حلب."]}, **auth, origin="https://cms.example.org")
        assert served.status == 200 and served.headers["access-control-allow-origin"] == "https://cms.example.org"
        assert "x-request-id" in served.headers["access-control-expose-headers"]
        running.server.state.start_draining()  # as at SIGTERM: new calls are refused, readiness drops
        assert request(url, "GET", "/readyz").json() == {"status": "draining"}
        draining = call(url, "Translate", {"texts": ["حلب."]}, **auth)
        assert (draining.status, draining.json()["code"]) == (503, "unavailable")
        assert "shutting down" in draining.json()["message"]
    finally:
        release.set()
        running.stop()


def test_refused_with_429_and_retry_after(models_dir) -> None:
    engine = GatedEngine()
    with gated_server(engine, models_dir, max_queue_seconds=20.0, http_port=free_port()) as running:
        url = running.http_url
        accepted = threading.Thread(target=call, args=(url, "Translate", {"texts": [ARTICLE]}))
        accepted.start()
        wait_until_in_engine(engine)  # 12 s of work queued: a second article (24 s) is over the 20 s bound
        refused = call(url, "Translate", {"texts": [ARTICLE]})
        assert (refused.status, refused.json()["code"]) == (429, "resource_exhausted")
        assert "server busy" in refused.json()["message"] and refused.headers["retry-after"] == "4"
        (detail,) = refused.json()["details"]
        assert detail["type"] == "google.rpc.RetryInfo" and detail["debug"] == {"retryDelay": "4s"}
        streamed = stream(url, {"texts": [ARTICLE]})
        assert streamed.status == 200 and streamed.headers["retry-after"] == "4"
        assert streamed.frames()[-1][1]["error"]["code"] == "resource_exhausted"
        engine.gate.set()
        join(accepted)
        assert running.server is not None and running.server.state.in_flight == 0


def test_https_with_the_grpc_certificate(models_dir, tmp_path) -> None:
    import ssl

    key, cert = make_certificate(tmp_path, "localhost", "DNS:localhost,IP:127.0.0.1")
    settings = tiny_settings(
        models_dir, summarization_model="none", http_port=free_port(), tls_cert=str(cert), tls_key=str(key)
    )
    with ServerThread(settings).start() as running:
        assert running.http_url.startswith("https://127.0.0.1:")
        trusted = ssl.create_default_context(cafile=str(cert))
        with urllib.request.urlopen(running.http_url + "readyz", context=trusted, timeout=60) as reply:
            assert json.load(reply) == {"status": "ready"}


def test_connect_envelopes_and_retry_hints() -> None:
    import grpc
    from tarjama_server.errors import InvalidRequestError, OverloadedError
    from tarjama_server.transport import connect

    payload = json.dumps({"texts": ["حلب."]}).encode()
    assert connect.unwrap(connect.envelope(payload)) == payload
    for broken in (b"", b"\x00\x00", connect.envelope(payload)[:-1], connect.envelope(payload, end=False) + b"x"):
        with pytest.raises(InvalidRequestError, match="one enveloped message"):
            connect.unwrap(broken)
    refused = connect.connect_error(OverloadedError("server busy", retry_after=2.2), "r1")
    assert (refused.code, refused.http_status, dict(refused.headers)) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        429,
        {"retry-after": "3"},  # whole seconds, rounded up: never earlier than the server asked
    )
    assert refused.body()["details"][0]["debug"] == {"retryDelay": "2.200s"}
    internal = connect.connect_error(RuntimeError("article text here"), "r2")
    assert internal.http_status == 500 and "article text" not in internal.message and "r2" in internal.message
    with pytest.raises(InvalidRequestError, match="whole number of milliseconds"):
        connect.timeout_seconds("-5")
