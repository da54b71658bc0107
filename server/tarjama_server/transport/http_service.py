"""The HTTP transport: the same four RPCs as gRPC in the Connect protocol (JSON or binary
protobuf, unary and server streaming), the editor's page and ``/openapi.json`` (static files in
``transport/web/``), ``/healthz`` and ``/readyz``. Starlette routes, uvicorn serves; calls run
through ``methods`` and ``calls.ServerState`` exactly as gRPC calls do."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import uvicorn
from google.protobuf.message import Message
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage
from tarjama_client.v1 import tarjama_pb2 as pb

from ..core.context import CLOCK, RequestContext
from ..engines.base import MAX_OUTPUT_TOKENS
from ..errors import NotReadyError
from . import access_methods, connect, desk_methods, methods, openapi
from .calls import (
    CANCELLED,
    HTTP,
    MAX_MESSAGE_BYTES,
    OK,
    REQUEST_ID_KEY,
    Call,
    ServerState,
    request_id,
)
from .http_connections import ConnectionBounds, protocol_for, raise_file_limit
from .status import log_error

log = logging.getLogger(__name__)

WEB = Path(__file__).resolve().parent / "web"
SERVICE_PATH = "/tarjama.v1.TarjamaService/"
# The page's scripts and styles come from this server only; nothing inline, no frame may embed it.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
# Headers a browser page on an allowed origin may send and read (CORS).
CORS_REQUEST_HEADERS = [
    "authorization",
    "content-type",
    "connect-protocol-version",
    "connect-timeout-ms",
    "x-request-id",
]
CORS_RESPONSE_HEADERS = ["x-request-id", "retry-after"]
DEFAULT_BOUNDS = ConnectionBounds()
HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@dataclass(frozen=True)
class Rpc:
    """One method of ``tarjama.v1.TarjamaService`` as the HTTP transport serves it."""

    request_type: type[Message]
    run: Callable[[ServerState, Any, Call], Any]  # a coroutine, or an async iterator when streaming
    streaming: bool = False


RPCS = {
    "Translate": Rpc(pb.TranslateRequest, methods.translate),
    "StreamTranslate": Rpc(pb.TranslateRequest, methods.stream_translate, streaming=True),
    "Summarize": Rpc(pb.SummarizeRequest, methods.summarize),
    "ListModels": Rpc(pb.ListModelsRequest, methods.list_models),
    "CreateGlossary": Rpc(pb.CreateGlossaryRequest, desk_methods.create_glossary),
    "ListGlossaries": Rpc(pb.ListGlossariesRequest, desk_methods.list_glossaries),
    "GetGlossary": Rpc(pb.GetGlossaryRequest, desk_methods.get_glossary),
    "UpdateGlossary": Rpc(pb.UpdateGlossaryRequest, desk_methods.update_glossary),
    "DeleteGlossary": Rpc(pb.DeleteGlossaryRequest, desk_methods.delete_glossary),
    "SaveTranslation": Rpc(pb.SaveTranslationRequest, desk_methods.save_translation),
    "SearchMemory": Rpc(pb.SearchMemoryRequest, desk_methods.search_memory),
    "DeleteMemoryEntry": Rpc(pb.DeleteMemoryEntryRequest, desk_methods.delete_memory_entry),
    "ListMemories": Rpc(pb.ListMemoriesRequest, desk_methods.list_memories),
    "ImportMemory": Rpc(pb.ImportMemoryRequest, desk_methods.import_memory),
    "ExportMemory": Rpc(pb.ExportMemoryRequest, desk_methods.export_memory, streaming=True),
    "GetUsage": Rpc(pb.GetUsageRequest, access_methods.get_usage),
    "ListAudit": Rpc(pb.ListAuditRequest, access_methods.list_audit),
}


class _SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every response (pure ASGI: streaming responses stay streamed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: AsgiMessage) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HttpService:
    """The Starlette application over ``state`` (its ``gate`` checks keys as gRPC's does);
    ``cors_origins`` the other origins whose pages may call the API."""

    def __init__(self, state: ServerState, *, cors_origins: Sequence[str] = (), max_calls: int = 0) -> None:
        self.state = state
        self._max_calls = max_calls  # most API calls in flight on this port (0: no bound)
        self.calls = 0
        self._document = json.loads((WEB / "openapi.json").read_text(encoding="utf-8"))
        self._served: tuple[object, dict[str, Any]] = (None, self._document)  # (for pipelines, the document)
        middleware = [Middleware(_SecurityHeaders)]
        if cors_origins:
            middleware.append(
                Middleware(
                    CORSMiddleware,
                    allow_origins=list(cors_origins),
                    allow_methods=["GET", "POST"],
                    allow_headers=CORS_REQUEST_HEADERS,
                    expose_headers=CORS_RESPONSE_HEADERS,
                    max_age=600,
                )
            )
        self.app = Starlette(
            routes=[
                # Every method, so that a GET gets 405 and how to call, not the static files' 404.
                Route(SERVICE_PATH + "{method}", self.rpc, methods=HTTP_METHODS),
                Route("/healthz", self.healthz, methods=["GET", "HEAD"]),
                Route("/openapi.json", self.openapi, methods=["GET", "HEAD"]),
                Route("/readyz", self.readyz, methods=["GET", "HEAD"]),
                Mount("/", StaticFiles(directory=WEB, html=True)),  # the page at /
            ],
            middleware=middleware,
        )

    async def openapi(self, request: Request) -> Response:
        """``web/openapi.json`` with this server's limits: what it checks requests against."""
        pipelines = self.state.pipelines
        if pipelines is None:  # still loading: the defaults the document was generated with
            return JSONResponse(self._document)
        if self._served[0] is not pipelines:
            translation, summarizer = pipelines.translator.info, pipelines.summarizer
            document = openapi.constrained(
                self._document,
                pipelines.translator.limits,
                max_new_tokens=translation.max_output_tokens,
                max_summary_tokens=summarizer.info.max_output_tokens if summarizer else MAX_OUTPUT_TOKENS,
                languages=openapi.Languages(
                    tuple(translation.source_languages),
                    tuple(translation.target_languages),
                    tuple(summarizer.info.source_languages) if summarizer else (),
                ),
                desk=pipelines.translator.desk is not None,
            )
            self._served = (pipelines, document)
        return JSONResponse(self._served[1])

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "live"}, headers={"cache-control": "no-store"})

    async def readyz(self, request: Request) -> Response:
        """200 once the models are loaded; 503 while they load, after an engine fault, and once the
        server is stopping."""
        state = self.state
        status = (
            "faulted" if state.faulted else "draining" if state.draining else "ready" if state.pipelines else "loading"
        )
        return JSONResponse(
            {"status": status}, 200 if status == "ready" else 503, headers={"cache-control": "no-store"}
        )

    async def rpc(self, request: Request) -> Response:
        self.calls += 1
        try:
            return await self._rpc(request)
        finally:
            self.calls -= 1

    async def _rpc(self, request: Request) -> Response:
        name = request.path_params["method"]
        rpc = RPCS.get(name)
        context = RequestContext.starting_now(
            request_id=request_id(request.headers.getlist(REQUEST_ID_KEY)), timeout=None
        )
        call = self.state.begin(name if rpc else "unknown", context, protocol=HTTP)
        headers = {REQUEST_ID_KEY: context.request_id, "cache-control": "no-store"}
        try:
            if rpc is None:
                raise connect.ConnectError(
                    grpc.StatusCode.UNIMPLEMENTED,
                    f"no method {name!r}: tarjama.v1.TarjamaService has {', '.join(RPCS)}",
                )
            if request.method != "POST":
                raise _post_only(name, rpc)
            if self._max_calls and self.calls > self._max_calls:
                raise connect.ConnectError(
                    grpc.StatusCode.UNAVAILABLE,
                    f"this server has {self._max_calls} HTTP calls in flight, the most it takes "
                    "(--http-max-calls): retry shortly, or use another replica",
                    headers=(("retry-after", "1"),),
                )
            codec = self._check(request, rpc, call)
            timeout = connect.timeout_seconds(request.headers.get("connect-timeout-ms"))
            if timeout is not None:
                call.request_context = context = RequestContext.starting_now(
                    request_id=context.request_id, timeout=timeout
                )
            body = await _read_body(request)
            message = connect.decode(connect.unwrap(body) if rpc.streaming else body, rpc.request_type, codec)
            if self.state.draining:
                raise NotReadyError("the server is shutting down: retry, and another replica will answer")
            await self.state.admit(call, message)
            if rpc.streaming:
                return await self._stream(rpc, message, call, codec, headers, request.receive)
            response = await _unless_disconnected(
                request.receive, _within(_remaining(context.deadline), rpc.run(self.state, message, call))
            )
        except _Disconnected:  # the caller hung up: its queued and planned work was withdrawn
            self.state.finish(call, CANCELLED)
            return Response(status_code=499)  # nobody reads it
        except asyncio.CancelledError:  # cut at shutdown
            self.state.finish(call, CANCELLED)
            raise
        except Exception as error:
            refused = self._refused(name, error, call)
            return JSONResponse(refused.body(), refused.http_status, headers={**headers, **dict(refused.headers)})
        self.state.finish(call, OK)
        media_type = "application/proto" if codec == "proto" else "application/json"
        return Response(connect.encode(response, codec), media_type=media_type, headers=headers)

    def _check(self, request: Request, rpc: Rpc, call: Call) -> str:
        """The key (from the cached key table) and its scope, then the content type: the codec to use."""
        self.state.authorize(call, request.headers.get("authorization", ""))
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        accepted = connect.STREAM_TYPES if rpc.streaming else connect.UNARY_TYPES
        if content_type not in accepted:
            raise connect.ConnectError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"Content-Type {content_type or '(none)'!r} is not served here: send {' or '.join(accepted)}",
                headers=(("accept-post", ", ".join(accepted)),),
                status=415,
            )
        if request.headers.get("content-encoding", "identity") != "identity":
            raise connect.ConnectError(grpc.StatusCode.UNIMPLEMENTED, "compressed request bodies are not supported")
        return accepted[content_type]

    def _refused(self, method: str, error: Exception, call: Call) -> connect.ConnectError:
        """Log ``error``, end the call with its status, and return it as Connect sends it."""
        request_id = call.request_context.request_id
        if isinstance(error, TimeoutError):
            error = connect.ConnectError(
                grpc.StatusCode.DEADLINE_EXCEEDED, "the call's deadline (Connect-Timeout-Ms) passed before it finished"
            )
        refused = connect.connect_error(error, request_id)
        log_error(method, error, refused.code, refused.message, request_id)
        self.state.finish(call, refused.code.name)
        return refused

    async def _stream(
        self, rpc: Rpc, message: Message, call: Call, codec: str, headers: dict[str, str], receive: Receive
    ) -> Response:
        """A server stream: the first event (or the refusal) is awaited before the response starts,
        so a refusal at admission also carries ``Retry-After``; later errors end the stream (and
        Starlette's StreamingResponse cancels it when the caller disconnects)."""
        events: AsyncGenerator[Message, None] = rpc.run(self.state, message, call)
        deadline = call.request_context.deadline
        media_type = "application/connect+proto" if codec == "proto" else "application/connect+json"
        metadata = {REQUEST_ID_KEY: [call.request_context.request_id]}
        try:
            first = await _unless_disconnected(receive, _within(_remaining(deadline), _next(events)))
        except _Disconnected:
            await events.aclose()
            self.state.finish(call, CANCELLED)
            return Response(status_code=499)  # nobody reads it
        except Exception as error:
            await events.aclose()
            refused = self._refused(call.method, error, call)
            ended = connect.end_of_stream(refused, metadata)
            return Response(ended, media_type=media_type, headers={**headers, **dict(refused.headers)})

        async def body() -> AsyncIterator[bytes]:
            error: connect.ConnectError | None = None
            try:
                async with contextlib.aclosing(events):
                    event = first
                    while event is not None:
                        yield connect.envelope(connect.encode(event, codec))
                        event = await _within(_remaining(deadline), _next(events))
            except asyncio.CancelledError:  # the caller went away (the page's Stop): its queued work is withdrawn
                self.state.finish(call, CANCELLED)
                raise
            except Exception as failure:
                error = self._refused(call.method, failure, call)
            else:
                self.state.finish(call, OK)
            yield connect.end_of_stream(error, metadata)

        return StreamingResponse(body(), media_type=media_type, headers=headers)


async def _next(events: AsyncGenerator[Message, None]) -> Message | None:
    """The stream's next event, or None at its end."""
    return await anext(events, None)


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - CLOCK())


async def _within(timeout: float | None, work: Awaitable[Any]) -> Any:
    """``work``, cancelled with TimeoutError once ``timeout`` seconds pass (None: no limit)."""
    return await asyncio.wait_for(work, timeout)


class _Disconnected(Exception):
    """The caller closed its connection before the response was ready."""


async def _unless_disconnected(receive: Receive, work: Awaitable[Any]) -> Any:
    """``work``'s result, unless the caller disconnects first (ASGI ``http.disconnect``): then
    ``work`` is cancelled, as gRPC cancels a call whose caller left, and ``_Disconnected`` raised."""
    task = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(_disconnect(receive))
    try:
        await asyncio.wait((task, watch), return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not task.done():
            task.cancel()
        watch.cancel()
    if task.done() and not task.cancelled():
        return task.result()
    with contextlib.suppress(asyncio.CancelledError):
        await task  # until its cancellation has withdrawn the work
    raise _Disconnected


async def _disconnect(receive: Receive) -> None:
    """Returns once the caller has gone (the body is read: only ``http.disconnect`` comes now)."""
    while (await receive())["type"] != "http.disconnect":
        pass


def _post_only(name: str, rpc: Rpc) -> connect.ConnectError:
    """A call with another HTTP method than POST: 405, and how to make it."""
    content_type = "application/connect+json" if rpc.streaming else "application/json"
    body = "an enveloped JSON " if rpc.streaming else "a JSON "
    return connect.ConnectError(
        grpc.StatusCode.UNIMPLEMENTED,
        f"{name} is called with POST {SERVICE_PATH}{name}, Content-Type: {content_type} and {body}"
        f"{rpc.request_type.DESCRIPTOR.name} as the body (the Connect protocol; see /openapi.json)",
        headers=(("allow", "POST"),),
        status=405,
    )


async def _read_body(request: Request) -> bytes:
    """The request body, refused without reading further once it exceeds ``MAX_MESSAGE_BYTES``."""
    too_large = connect.ConnectError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        f"the request body is over {MAX_MESSAGE_BYTES // 2**20} MiB, the most this server reads: send fewer texts",
        status=413,
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_MESSAGE_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_MESSAGE_BYTES:
            raise too_large
    return bytes(body)


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: ``app.run`` owns SIGTERM and SIGINT and stops both transports."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


class HttpServer:
    """Serves ``app`` on ``host:port`` with uvicorn on the running event loop; ``bounds`` on its
    connections (``http_connections``), ``keep_alive`` seconds an idle connection is kept after a response."""

    def __init__(
        self,
        app: ASGIApp,
        host: str,
        port: int,
        *,
        tls_cert: str = "",
        tls_key: str = "",
        bounds: ConnectionBounds = DEFAULT_BOUNDS,
        keep_alive: float = 5.0,
    ) -> None:
        self.host = host.strip("[]")
        self.port = port
        self.bounds = bounds
        config = uvicorn.Config(
            app,
            http=protocol_for(bounds),
            timeout_keep_alive=keep_alive,  # type: ignore[arg-type]  # (seconds; a float works)
            lifespan="off",
            log_config=None,
            access_log=False,  # the access log is calls.ServerState's, one line per call
            server_header=False,
            ssl_certfile=tls_cert or None,
            ssl_keyfile=tls_key or None,
        )
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> int:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            sock = socket.create_server((self.host, self.port), family=family)
        except OSError as error:
            raise OSError(
                f"HTTP port {self.host}:{self.port} is in use or cannot be bound ({error}); "
                "choose another with --http-port, or 0 to disable HTTP"
            ) from error
        self.port = sock.getsockname()[1]
        if self.bounds.max_connections:
            raise_file_limit(self.bounds.max_connections)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        return self.port

    async def stop(self, grace: float) -> None:
        """Stop taking connections; calls in flight get ``grace`` seconds, then are cut."""
        if self._task is None:
            return
        self._server.config.timeout_graceful_shutdown = grace  # type: ignore[assignment]
        self._server.should_exit = True
        await self._task
