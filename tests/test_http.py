"""The HTTP/JSON API (Connect protocol) through a real HTTP client, against real servers on tiny
models: unary and streaming calls, errors and their statuses, auth, CORS, limits, health."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import struct
import threading
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import pytest
from prometheus_client import REGISTRY
from tarjama_server.loading.loader import load_engines

from .helpers import (
    WAIT_SECONDS,
    GatedEngine,
    ServerThread,
    free_port,
    gated_loader,
    join,
    make_certificate,
    tiny_settings,
    wait_for,
)
from .test_overload import ARTICLE, gated_server, wait_until_in_engine
from .test_overload import GatedEngine as FakeEngine

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
        # Say what to send instead: the field meant, the values allowed.
        ("Translate", {"text": "حلب."}, 400, "invalid_argument", 'did you mean "texts" (a list: [...])?'),
        (
            "Summarize",
            {"text": "حلب.", "style": "headline"},
            400,
            "invalid_argument",
            'did you mean "SUMMARY_STYLE_HEADLINE"',
        ),
        (
            "Summarize",
            {"text": "حلب.", "style": "brief"},
            400,
            "invalid_argument",
            "allowed values: SUMMARY_STYLE_UNSPECIFIED, SUMMARY_STYLE_HEADLINE",
        ),
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
    engine = FakeEngine()
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


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE"])
def test_other_http_methods_on_an_api_path_get_405_and_how_to_call(http_server: ServerThread, method: str) -> None:
    reply = request(http_server.http_url, method, SERVICE + "Translate")
    assert reply.status == 405 and reply.headers["allow"] == "POST"
    if method != "HEAD":
        assert reply.json()["code"] == "unimplemented"
        assert "POST /tarjama.v1.TarjamaService/Translate, Content-Type: application/json" in reply.json()["message"]
    streamed = request(http_server.http_url, "GET", SERVICE + "StreamTranslate")
    assert streamed.status == 405 and "application/connect+json" in streamed.json()["message"]


def test_a_zero_timeout_is_a_malformed_header_as_connect_specifies(http_server: ServerThread) -> None:
    # Connect: Timeout-Milliseconds is a positive integer of at most 10 digits.
    for sent in ("0", "00", "12345678901", "1.5"):
        reply = call(http_server.http_url, "Translate", {"texts": ["حلب."]}, **{"connect-timeout-ms": sent})
        assert (reply.status, reply.json()["code"]) == (400, "invalid_argument"), sent
        assert "positive whole number of milliseconds" in reply.json()["message"]
    assert call(http_server.http_url, "Translate", {"texts": ["حلب."]}, **{"connect-timeout-ms": "60000"}).status == 200


def raw_request(path: str, body: bytes = b"", method: str = "POST", request_id: str = "raw") -> bytes:
    """An HTTP/1.1 request as bytes, for a socket the test holds."""
    return (
        f"{method} {path} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n"
        f"x-request-id: {request_id}\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode() + body


def closed_by_server(sock: socket.socket, timeout: float = WAIT_SECONDS) -> bool:
    """Whether the server closes ``sock`` within ``timeout`` (what it sends first is read and dropped)."""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def test_a_caller_that_hangs_up_has_its_work_withdrawn_and_is_counted_cancelled(
    models_dir, seed_article: str, caplog
) -> None:
    caplog.set_level(logging.INFO)
    engines: list[GatedEngine] = []
    settings = tiny_settings(models_dir, summarization_model="none", http_port=free_port())
    with ServerThread(settings, gated_loader(engines)).start() as running:
        (engine,) = engines
        before = requests_counted("Translate", "CANCELLED", "http")
        parts = urlsplit(running.http_url)
        body = json.dumps({"texts": [seed_article] * 2}).encode()  # 40 segments: more than one batch
        with socket.create_connection((parts.hostname, parts.port), timeout=WAIT_SECONDS) as caller:
            caller.sendall(raw_request(SERVICE + "Translate", body, request_id="gone-1"))
            assert engine.started.wait(WAIT_SECONDS), "the first batch never reached the engine"
        # The caller has hung up, its first batch still at the gate: the call ends as CANCELLED.
        wait_for(lambda: requests_counted("Translate", "CANCELLED", "http") == before + 1, "the call cancelled")
        engine.gate.set()
        assert call(running.http_url, "Translate", {"texts": ["حلب."]}).status == 200
        # Only the batch already at the gate ran; the queued segments were withdrawn.
        assert engine.batches[-1] == ["حلب."] and sum(len(batch) for batch in engine.batches[:-1]) < 40
    (line,) = [r for r in caplog.records if r.name == "tarjama_server.access" and r.fields["request_id"] == "gone-1"]
    assert line.fields["status"] == "CANCELLED" and line.fields["protocol"] == "http"


def test_connections_must_send_their_headers_in_time(models_dir) -> None:
    engine = FakeEngine()
    engine.gate.set()
    # Keep-alive far longer than the header timeout: only the header timeout can close these.
    bounds = {"http_header_timeout_seconds": 0.5, "http_keep_alive_seconds": 600.0, "http_port": free_port()}
    with gated_server(engine, models_dir, **bounds) as running:
        address = (urlsplit(running.http_url).hostname, urlsplit(running.http_url).port)
        with socket.create_connection(address) as silent, socket.create_connection(address) as slow:
            slow.sendall(b"POST /tarjama.v1.TarjamaService/Translate HTTP/1.1\r\nhost: te")  # and no more
            assert closed_by_server(silent), "a connection that sends nothing was kept"
            assert closed_by_server(slow), "a connection whose headers never end was kept"
        with socket.create_connection(address) as kept:
            kept.sendall(raw_request("/healthz", method="GET"))
            kept.settimeout(WAIT_SECONDS)
            assert kept.recv(65536).startswith(b"HTTP/1.1 200")
            kept.sendall(b"GET /hea")  # the next request starts, and stalls (uvicorn's keep-alive timer stops here)
            assert closed_by_server(kept), "a kept-alive connection whose next headers never end was kept"


def test_past_the_connection_bound_the_longest_idle_connection_makes_room(models_dir) -> None:
    engine = FakeEngine()
    with gated_server(engine, models_dir, http_port=free_port(), http_max_connections=2, http_max_calls=1) as running:
        url = running.http_url
        address = (urlsplit(url).hostname, urlsplit(url).port)
        with socket.create_connection(address) as idle:
            assert call(url, "ListModels", {}).status == 200  # served while the idle one is held (2 open)
            held = threading.Thread(target=call, args=(url, "Translate", {"texts": [ARTICLE]}))
            held.start()
            wait_until_in_engine(engine)
            # A third connection: the idle one is closed to make room, and the call over the bound of one
            # call in flight gets a clear 503 at once.
            refused = call(url, "Translate", {"texts": ["حلب."]})
            assert closed_by_server(idle), "the idle connection was kept past the bound"
        assert (refused.status, refused.json()["code"]) == (503, "unavailable")
        assert "--http-max-calls" in refused.json()["message"] and refused.headers["retry-after"] == "1"
        engine.gate.set()
        join(held)
