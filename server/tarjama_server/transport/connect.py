"""The Connect protocol's pieces (https://connectrpc.com/docs/protocol), pure functions the HTTP
transport uses: codecs (JSON in the proto3 canonical mapping, or binary protobuf), the error
body and its HTTP status (the one table), the envelope of streaming messages, the timeout header."""

from __future__ import annotations

import base64
import difflib
import functools
import json
import math
import re
import struct
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
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
# Connect-Timeout-Ms: "positive integer as ASCII string of at most 10 digits".
MAX_TIMEOUT_MS = 9_999_999_999
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
        detail = str(error).split("\n")[0].rstrip(".")
        raise InvalidRequestError(
            f"the request body is not a valid {message_type.DESCRIPTOR.name}: {detail}{_hint(detail, message_type)}"
        ) from None
    return message


_UNKNOWN_FIELD = re.compile(r'Message type "([\w.]+)" has no field named "([^"]*)"')
_BAD_ENUM = re.compile(r"Invalid enum value (\S+) for enum type ([\w.]+)")


def _hint(detail: str, message_type: type[Message]) -> str:
    """What to send instead: the nearest field name and the fields there are, or the enum's values."""
    pool = message_type.DESCRIPTOR.file.pool
    if found := _UNKNOWN_FIELD.search(detail):
        fields = pool.FindMessageTypeByName(found[1]).fields
        names = {name: field for field in fields for name in (field.json_name, field.name)}
        near = difflib.get_close_matches(found[2], names, n=1, cutoff=0.6)
        listed = ", ".join(field.json_name for field in fields)
        if not near:
            return f"; its fields are {listed}"
        field = names[near[0]]
        shape = " (a list: [...])" if field.is_repeated and not field.message_type else ""
        return f'; did you mean "{field.json_name}"{shape}? Its fields are {listed}'
    if found := _BAD_ENUM.search(detail):
        values = [value.name for value in pool.FindEnumTypeByName(found[2]).values]
        sent = found[1].strip("'\"").upper()
        near = [name for name in values if name.endswith("_" + sent)]
        guess = f'did you mean "{near[0]}"? ' if near else ""
        return f"; {guess}allowed values: {', '.join(values)} (or their numbers)"
    return ""


def encode(message: Message, codec: str) -> bytes:
    """A response message: binary, or JSON with every field (zero values included) and text as
    UTF-8, never ``\\u`` escapes. 64-bit integers are JSON numbers, not the canonical strings:
    the proto3 JSON mapping has parsers accept both, and a number is what a client generated
    from /openapi.json expects (our values, bytes and characters, stay far below 2**53)."""
    if codec == "proto":
        return message.SerializeToString()
    fields = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
    _int64_as_numbers(message.DESCRIPTOR, fields)  # type: ignore[arg-type]  # (upb's Descriptor)
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


_INT64 = {
    FieldDescriptor.CPPTYPE_INT64,
    FieldDescriptor.CPPTYPE_UINT64,
}


def _int64_as_numbers(descriptor: Descriptor, fields: dict[str, Any]) -> None:
    """Turn the 64-bit integers of ``fields`` (``descriptor``'s message as MessageToDict wrote it) into numbers."""
    for field in _int64_paths(descriptor):
        value = fields.get(field.json_name)
        if value is None:
            continue
        if field.message_type is None:
            fields[field.json_name] = [int(v) for v in value] if isinstance(value, list) else int(value)
            continue
        if field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            if value_field.message_type is None:
                fields[field.json_name] = {key: int(v) for key, v in value.items()}
            else:
                for item in value.values():
                    _int64_as_numbers(value_field.message_type, item)
            continue
        for item in value if isinstance(value, list) else [value]:
            _int64_as_numbers(field.message_type, item)


@functools.cache
def _int64_paths(descriptor: Descriptor) -> tuple[FieldDescriptor, ...]:
    """The fields of ``descriptor`` that are, or lead to, a 64-bit integer (computed once per type)."""

    def holds_int64(message: Descriptor, seen: frozenset[str]) -> bool:
        if message.full_name in seen:
            return False
        return any(
            field.cpp_type in _INT64
            or (field.message_type is not None and holds_int64(field.message_type, seen | {message.full_name}))
            for field in message.fields
        )

    return tuple(
        field
        for field in descriptor.fields
        if field.cpp_type in _INT64
        or (field.message_type is not None and holds_int64(field.message_type, frozenset({descriptor.full_name})))
    )


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
    """The call's deadline from ``Connect-Timeout-Ms``, or None. The protocol makes it a positive
    integer of at most 10 digits, so 0 (like -5 or 1.5) is a malformed header, not a deadline
    already past."""
    if header is None:
        return None
    if not (header.isascii() and header.isdigit()) or len(header) > 10 or int(header) == 0:
        raise InvalidRequestError(
            f"Connect-Timeout-Ms must be a positive whole number of milliseconds (1 to {MAX_TIMEOUT_MS}), "
            f"got {header!r}; send no header for no deadline"
        )
    return int(header) / 1000
