"""Errors → gRPC status codes: the one table, and the retry hint a refusal carries."""

from __future__ import annotations

import logging
import traceback

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from ..errors import (
    DeadlineExpiredError,
    FeatureDisabledError,
    InvalidRequestError,
    NotFoundError,
    NotReadyError,
    OverloadedError,
    PermissionDeniedError,
    QuotaExhaustedError,
    UnauthenticatedError,
    UnsupportedLanguageError,
)

log = logging.getLogger(__name__)

# The one table from core errors to gRPC status codes; anything else is INTERNAL.
STATUS_BY_ERROR: tuple[tuple[type[Exception], grpc.StatusCode], ...] = (
    (UnsupportedLanguageError, grpc.StatusCode.INVALID_ARGUMENT),
    (InvalidRequestError, grpc.StatusCode.INVALID_ARGUMENT),
    (OverloadedError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (NotReadyError, grpc.StatusCode.UNAVAILABLE),
    (FeatureDisabledError, grpc.StatusCode.FAILED_PRECONDITION),
    (NotFoundError, grpc.StatusCode.NOT_FOUND),
    (DeadlineExpiredError, grpc.StatusCode.DEADLINE_EXCEEDED),
    (UnauthenticatedError, grpc.StatusCode.UNAUTHENTICATED),
    (PermissionDeniedError, grpc.StatusCode.PERMISSION_DENIED),
    (QuotaExhaustedError, grpc.StatusCode.RESOURCE_EXHAUSTED),  # no retry hint: it resets at a date
)


def status_for(error: Exception, request_id: str = "") -> tuple[grpc.StatusCode, str]:
    for error_type, code in STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return code, str(error)
    return (
        grpc.StatusCode.INTERNAL,
        f"internal error ({type(error).__name__}), request id {request_id}; the server log has the details",
    )


def log_error(method: str, error: Exception, code: grpc.StatusCode, message: str, request_id: str) -> None:
    """An INTERNAL error with its frames; any other at debug level. Whatever the transport."""
    if code == grpc.StatusCode.INTERNAL:
        # The error's message may quote the input (article text never goes to the log): type and frames only.
        frames = "".join(traceback.format_tb(error.__traceback__))
        log.error("%s failed, request id %s: %s\n%s", method, request_id, type(error).__name__, frames)
    else:
        log.debug("%s: %s: %s", method, code.name, message)


def retry_info(error: OverloadedError) -> tuple[int, error_details_pb2.RetryInfo]:
    """A refusal's retry hint, whatever the transport: the delay in whole milliseconds (at
    least one) and as ``google.rpc.RetryInfo``."""
    milliseconds = max(1, round(error.retry_after * 1000))
    info = error_details_pb2.RetryInfo()
    info.retry_delay.FromMilliseconds(milliseconds)
    return milliseconds, info


def retry_trailers(error: Exception) -> tuple[tuple[str, str | bytes], ...]:
    """The retry hint of a refusal: ``grpc-retry-pushback-ms`` (read by gRPC's own
    retry policy) and ``google.rpc.RetryInfo`` (read by any client with grpcio-status)."""
    if not isinstance(error, OverloadedError):
        return ()
    milliseconds, info = retry_info(error)
    detail = any_pb2.Any()
    detail.Pack(info)
    status = rpc_status.to_status(
        status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message=str(error), details=[detail])
    )
    return (("grpc-retry-pushback-ms", str(milliseconds)), *status.trailing_metadata)
