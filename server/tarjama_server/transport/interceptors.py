"""gRPC server interceptors: the caller's key, and requests that cannot be decoded."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from .. import metrics
from ..core.access import Gate
from ..errors import PermissionDeniedError, UnauthenticatedError
from .calls import GRPC

log = logging.getLogger(__name__)

_HEALTH_PREFIX = "/grpc.health.v1.Health/"


class KeyInterceptor(grpc.aio.ServerInterceptor):
    """Require a key (``authorization: Bearer <key>``) with the method's scope on every call but
    health checks (load balancers and Kubernetes probes carry none), before the request is
    parsed: ``core.access.Gate`` reads its cached key table, never the database."""

    def __init__(self, gate: Callable[[], Gate]) -> None:
        self._gate = gate

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        if handler_call_details.method.startswith(_HEALTH_PREFIX):
            return await continuation(handler_call_details)
        sent = dict(handler_call_details.invocation_metadata or ()).get("authorization", "")
        method = handler_call_details.method.rsplit("/", 1)[-1]
        try:
            self._gate().check(sent, method)
        except (UnauthenticatedError, PermissionDeniedError) as error:
            code = (
                grpc.StatusCode.UNAUTHENTICATED
                if isinstance(error, UnauthenticatedError)
                else grpc.StatusCode.PERMISSION_DENIED
            )
            metrics.REQUESTS.labels(method, code.name, GRPC).inc()
            message = str(error)

            async def deny(request: Any, context: grpc.aio.ServicerContext) -> None:
                await context.abort(code, message)

            return grpc.unary_unary_rpc_method_handler(deny)
        return await continuation(handler_call_details)


class _Undecodable:
    """Stands for a request message that could not be parsed (invalid UTF-8 in a string)."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _lenient(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any]:
    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data) if deserializer else data
        except Exception as error:  # protobuf's DecodeError, whatever the implementation
            return _Undecodable(error)

    return deserialize


_UNDECODABLE_MESSAGE = (
    "the request could not be decoded: every string field must be valid UTF-8 (check the text's encoding)"
)


async def _refuse_undecodable(method: str, request: _Undecodable, context: grpc.aio.ServicerContext) -> None:
    log.info("%s: INVALID_ARGUMENT: undecodable request: %s", method, request.error)
    metrics.REQUESTS.labels(method.rsplit("/", 1)[-1], grpc.StatusCode.INVALID_ARGUMENT.name, GRPC).inc()
    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, _UNDECODABLE_MESSAGE)


def _checked_unary(method: str, behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def checked(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if isinstance(request, _Undecodable):
            await _refuse_undecodable(method, request, context)
        return await behavior(request, context)

    return checked


def _checked_stream(method: str, behavior: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
    async def checked(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        if isinstance(request, _Undecodable):
            await _refuse_undecodable(method, request, context)
        async for response in behavior(request, context):
            yield response

    return checked


class DecodeErrorInterceptor(grpc.aio.ServerInterceptor):
    """Answer a request that cannot be parsed (invalid UTF-8 in a string field) with
    INVALID_ARGUMENT. grpc would otherwise reply UNKNOWN before any servicer code runs:
    parsing happens in the method handler's deserializer, so this wraps it."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler.request_streaming:
            return handler
        method = handler_call_details.method
        deserializer = _lenient(handler.request_deserializer)
        behavior: Any = handler.unary_unary or handler.unary_stream  # async callables under grpc.aio
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                _checked_unary(method, behavior),
                request_deserializer=deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                _checked_stream(method, behavior),
                request_deserializer=deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler
