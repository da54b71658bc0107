"""Client exceptions: one class per thing a caller would handle differently."""

from __future__ import annotations

from typing import Any

import grpc

PUSHBACK_KEY = "grpc-retry-pushback-ms"


class TarjamaError(Exception):
    """Any failed call. ``code`` is the gRPC status, ``details`` the server's message,
    ``retry_after`` the server's pushback in seconds (``inf``: do not retry; None: no hint)."""

    def __init__(self, code: grpc.StatusCode | None, details: str, retry_after: float | None = None) -> None:
        super().__init__(f"{code.name if code else 'ERROR'}: {details}")
        self.code = code
        self.details = details
        self.retry_after = retry_after


class InvalidRequestError(TarjamaError):
    """INVALID_ARGUMENT / FAILED_PRECONDITION: fix the request; retrying will not help."""


class ServerUnavailableError(TarjamaError):
    """UNAVAILABLE: the server is unreachable, loading models, or shutting down. Retry."""


class OverloadedError(TarjamaError):
    """RESOURCE_EXHAUSTED: the server's queue is full. Retry with backoff."""


class DeadlineExceededError(TarjamaError):
    """DEADLINE_EXCEEDED: the call took longer than its timeout."""


class AuthenticationError(TarjamaError):
    """UNAUTHENTICATED / PERMISSION_DENIED: wrong or missing token."""


_BY_CODE: dict[grpc.StatusCode, type[TarjamaError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidRequestError,
    grpc.StatusCode.FAILED_PRECONDITION: InvalidRequestError,
    grpc.StatusCode.UNAVAILABLE: ServerUnavailableError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: OverloadedError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.UNAUTHENTICATED: AuthenticationError,
    grpc.StatusCode.PERMISSION_DENIED: AuthenticationError,
}


def pushback_seconds(error: grpc.RpcError) -> float | None:
    """The server's ``grpc-retry-pushback-ms`` trailer, if any (a negative value means do not retry)."""
    trailers: Any = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    for key, value in trailers or ():
        if key == PUSHBACK_KEY:
            try:
                milliseconds = int(value)
            except (TypeError, ValueError):
                return None
            return float("inf") if milliseconds < 0 else milliseconds / 1000
    return None


def from_rpc_error(error: grpc.RpcError) -> TarjamaError:
    code = error.code() if hasattr(error, "code") else None
    details = (error.details() if hasattr(error, "details") else None) or str(error)
    if not code:
        return TarjamaError(None, details)
    return _BY_CODE.get(code, TarjamaError)(code, details, pushback_seconds(error))
