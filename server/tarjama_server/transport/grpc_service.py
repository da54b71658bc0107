"""The gRPC transport: convert ``tarjama.v1`` messages to the core's requests and back, and
map errors to status codes. The pipelines check the requests; no model logic lives here."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import TypeVar

import grpc
from tarjama_client.v1 import tarjama_pb2_grpc as pb_grpc

from ..core.context import RequestContext
from . import access_methods, desk_methods, methods
from .calls import CANCELLED, OK, REQUEST_ID_KEY, Call, ServerState, request_id
from .status import log_error, retry_trailers, status_for

RequestT = TypeVar("RequestT")
ResponseT = TypeVar("ResponseT")
# Above this, gRPC's "time remaining" means the caller set no deadline.
_NO_DEADLINE = 10**8


def _request_context(context: grpc.aio.ServicerContext) -> RequestContext:
    """The call's request id (the caller's ``x-request-id``, or a new one) and deadline."""
    sent = (value for key, value in context.invocation_metadata() or () if key == REQUEST_ID_KEY)
    remaining = context.time_remaining()
    timeout = None if remaining is None or remaining > _NO_DEADLINE else remaining
    return RequestContext.starting_now(request_id=request_id(sent), timeout=timeout)


def _unary(
    name: str, run: Callable[[ServerState, RequestT, Call], Awaitable[ResponseT]]
) -> Callable[[TarjamaServicer, RequestT, grpc.aio.ServicerContext], Awaitable[ResponseT]]:
    """A unary gRPC method that runs ``run`` as ``methods`` runs the others: counted, timed,
    logged, its errors turned into their status (``TarjamaServicer._rpc``)."""

    async def method(servicer: TarjamaServicer, request: RequestT, context: grpc.aio.ServicerContext) -> ResponseT:
        async with servicer._rpc(name, context, request) as call:
            return await run(servicer.state, request, call)
        raise AssertionError("unreachable: _rpc aborts on error")

    method.__name__ = name
    return method


def _server_streaming(
    name: str, run: Callable[[ServerState, RequestT, Call], AsyncGenerator[ResponseT, None]]
) -> Callable[[TarjamaServicer, RequestT, grpc.aio.ServicerContext], AsyncIterator[ResponseT]]:
    """A server-streaming gRPC method that runs ``run`` as ``_unary`` does; closed at once when
    the caller leaves mid-stream, so its queued jobs are withdrawn now."""

    async def method(
        servicer: TarjamaServicer, request: RequestT, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[ResponseT]:
        async with servicer._rpc(name, context, request) as call:
            async with contextlib.aclosing(run(servicer.state, request, call)) as events:
                async for event in events:
                    yield event

    method.__name__ = name
    return method


class TarjamaServicer(pb_grpc.TarjamaServiceServicer):
    def __init__(self, state: ServerState) -> None:
        self.state = state

    @contextlib.asynccontextmanager
    async def _rpc(self, method: str, context: grpc.aio.ServicerContext, request: object = None) -> AsyncIterator[Call]:
        """Count, time and log the call; turn any error into its status (see ``status.STATUS_BY_ERROR``).
        The caller's key (checked by ``KeyInterceptor``) is counted against its limits first."""
        call = self.state.begin(method, _request_context(context))
        trailers: tuple[tuple[str, str | bytes], ...] = ((REQUEST_ID_KEY, call.request_context.request_id),)
        context.set_trailing_metadata(trailers)
        ended = False
        try:
            sent = dict(context.invocation_metadata() or ()).get("authorization", "")
            self.state.authorize(call, sent)
            await self.state.admit(call, request)
            yield call
        except asyncio.CancelledError:  # deadline passed, client went away, or cut at shutdown
            ended = True
            self.state.finish(call, CANCELLED)
            raise
        except Exception as error:
            request_id = call.request_context.request_id
            code, message = status_for(error, request_id)
            log_error(method, error, code, message, request_id)
            ended = True
            self.state.finish(call, code.name)  # before the status goes out: logged when the caller sees the error
            await context.abort(code, message, trailing_metadata=trailers + retry_trailers(error))
        finally:
            if not ended:
                self.state.finish(call, OK)

    # The RPCs of ``methods``, ``desk_methods`` and ``access_methods``, each counted, timed and logged by ``_rpc``.
    Translate = _unary("Translate", methods.translate)
    StreamTranslate = _server_streaming("StreamTranslate", methods.stream_translate)
    Summarize = _unary("Summarize", methods.summarize)
    ListModels = _unary("ListModels", methods.list_models)
    CreateGlossary = _unary("CreateGlossary", desk_methods.create_glossary)
    ListGlossaries = _unary("ListGlossaries", desk_methods.list_glossaries)
    GetGlossary = _unary("GetGlossary", desk_methods.get_glossary)
    UpdateGlossary = _unary("UpdateGlossary", desk_methods.update_glossary)
    DeleteGlossary = _unary("DeleteGlossary", desk_methods.delete_glossary)
    SaveTranslation = _unary("SaveTranslation", desk_methods.save_translation)
    SearchMemory = _unary("SearchMemory", desk_methods.search_memory)
    DeleteMemoryEntry = _unary("DeleteMemoryEntry", desk_methods.delete_memory_entry)
    ListMemories = _unary("ListMemories", desk_methods.list_memories)
    ImportMemory = _unary("ImportMemory", desk_methods.import_memory)
    ExportMemory = _server_streaming("ExportMemory", desk_methods.export_memory)
    GetUsage = _unary("GetUsage", access_methods.get_usage)
    ListAudit = _unary("ListAudit", access_methods.list_audit)
