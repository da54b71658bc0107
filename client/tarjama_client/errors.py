"""Client exceptions: one class per thing a caller would handle differently."""

from __future__ import annotations

import grpc


class TarjamaError(Exception):
    """Any failed call. ``code`` is the gRPC status, ``details`` the server's message."""

    def __init__(self, code: grpc.StatusCode | None, details: str) -> None:
        super().__init__(f"{code.name if code else 'ERROR'}: {details}")
        self.code = code
        self.details = details


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


def from_rpc_error(error: grpc.RpcError) -> TarjamaError:
    code = error.code() if hasattr(error, "code") else None
    details = (error.details() if hasattr(error, "details") else None) or str(error)
    return _BY_CODE.get(code, TarjamaError)(code, details) if code else TarjamaError(None, details)
