"""The Connect protocol's pieces (https://connectrpc.com/docs/protocol), pure functions the HTTP
transport uses: codecs (JSON in the proto3 canonical mapping, or binary protobuf), the error
body and its HTTP status (the one table), the envelope of streaming messages, the timeout header."""

from __future__ import annotations

import base64
import json
import math
import struct
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from ..errors import InvalidRequestError, OverloadedError
from .status import retry_info, status_for

M = TypeVar("M", bound=Message)

# The one table for HTTP: the gRPC status code an error gets (``status.STATUS_BY_ERROR``, so both
# transports send the same code and message) → the HTTP status of a Connect unary error.
HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}

# Content types: unary calls and streaming calls, each in JSON or binary protobuf.
UNARY_TYPES = {"application/json": "json", "application/proto": "proto"}
STREAM_TYPES = {"application/connect+json": "json", "application/connect+proto": "proto"}
_END_STREAM = 0b10
_HEADER = struct.Struct(">BI")


def code_name(code: grpc.StatusCode) -> str:
    """Connect's name of a status code: ``invalid_argument``; ``canceled`` with one l."""
    return "canceled" if code == grpc.StatusCode.CANCELLED else code.name.lower()


@dataclass(frozen=True)
class ConnectError(Exception):
    """An error as the HTTP transport sends it: a gRPC status code (whose name the access log
    and metrics write), the message, Connect error details, and extra response headers.
    ``status`` overrides the table for errors of HTTP itself (415, 413)."""

    code: grpc.StatusCode
    message: str
    details: tuple[dict[str, Any], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    status: int | None = None

    @property
    def http_status(self) -> int:
        return self.status or HTTP_STATUS[self.code]

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": code_name(self.code), "message": self.message}
        if self.details:
            body["details"] = list(self.details)
        return body


def connect_error(error: Exception, request_id: str) -> ConnectError:
    """``error`` as Connect sends it: the code and message gRPC would send, and for a refusal
    the retry hint (``Retry-After`` in whole seconds, and ``google.rpc.RetryInfo`` as a detail)."""
    if isinstance(error, ConnectError):
        return error
    code, message = status_for(error, request_id)
    if not isinstance(error, OverloadedError):
        return ConnectError(code, message)
    milliseconds, info = retry_info(error)
    detail = {
        "type": info.DESCRIPTOR.full_name,
        "value": base64.b64encode(info.SerializeToString()).decode().rstrip("="),
        "debug": json_format.MessageToDict(info),
    }
    return ConnectError(code, message, (detail,), (("retry-after", str(math.ceil(milliseconds / 1000))),))


def decode(data: bytes, message_type: type[M], codec: str) -> M:
    """A request message from its body; anything that does not decode cleanly (not UTF-8, not
    JSON, a field the message lacks, a value of the wrong type) is INVALID_ARGUMENT."""
    message = message_type()
    if codec == "proto":
        try:
            message.ParseFromString(data)
        except DecodeError as error:
            raise InvalidRequestError(f"the request body is not a {message_type.DESCRIPTOR.name}: {error}") from None
        return message
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequestError("the request body must be UTF-8 JSON (check the text's encoding)") from None
    try:
        json_format.Parse(text, message, ignore_unknown_fields=False)
    except json_format.ParseError as error:
        detail = str(error).split("\n")[0]
        raise InvalidRequestError(f"the request body is not a valid {message_type.DESCRIPTOR.name}: {detail}") from None
    return message


def encode(message: Message, codec: str) -> bytes:
    """A response message: binary, or canonical JSON with every field (zero values included) and
    text as UTF-8, never ``\\u`` escapes."""
    if codec == "proto":
        return message.SerializeToString()
    fields = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


def envelope(payload: bytes, *, end: bool = False) -> bytes:
    """One message of a Connect stream: a flags byte, the length (4 bytes, big-endian), the payload."""
    return _HEADER.pack(_END_STREAM if end else 0, len(payload)) + payload


def end_of_stream(error: ConnectError | None, metadata: dict[str, list[str]]) -> bytes:
    """The last message of a Connect stream: its error (none when the call succeeded) and trailers."""
    body: dict[str, Any] = {"metadata": metadata}
    if error is not None:
        body["error"] = error.body()
    return envelope(json.dumps(body, ensure_ascii=False).encode(), end=True)


def unwrap(data: bytes) -> bytes:
    """The one message of a server-streaming request, out of its envelope."""
    if len(data) < _HEADER.size:
        raise InvalidRequestError("a streaming request body is one enveloped message (5-byte prefix, then it)")
    flags, length = _HEADER.unpack_from(data)
    if flags & ~_END_STREAM or len(data) != _HEADER.size + length:
        raise InvalidRequestError(
            f"a streaming request body is one enveloped message: the prefix says {length} bytes with flags {flags}, "
            f"and {len(data) - _HEADER.size} bytes follow (compression is not supported)"
        )
    return data[_HEADER.size :]


def timeout_seconds(header: str | None) -> float | None:
    """The call's deadline from ``Connect-Timeout-Ms`` (at most 10 digits), or None."""
    if header is None:
        return None
    if not header.isdigit() or len(header) > 10:
        raise InvalidRequestError(f"Connect-Timeout-Ms must be a whole number of milliseconds, got {header!r}")
    return int(header) / 1000
