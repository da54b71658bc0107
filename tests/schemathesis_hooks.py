"""Teaches schemathesis the Connect streaming envelope (https://connectrpc.com/docs/protocol#streaming-request),
which a JSON schema cannot express: a StreamTranslate request is one enveloped JSON message, and
its response a sequence of them. Loaded by tests/test_openapi.py through SCHEMATHESIS_HOOKS;
run schemathesis by hand the same way:

    SCHEMATHESIS_HOOKS=tests.schemathesis_hooks st run --checks all http://127.0.0.1:8080/openapi.json
"""

from __future__ import annotations

import json
import struct
from typing import Any

import schemathesis
from schemathesis.core import deserialization
from schemathesis.transport.requests import REQUESTS_TRANSPORT

STREAM_TYPE = "application/connect+json"
_HEADER = struct.Struct(">BI")


def envelope(ctx: Any, value: Any) -> dict[str, Any]:
    """The generated request message, as one enveloped message (flags 0); other JSON as JSON."""
    if ctx.case.media_type != STREAM_TYPE:
        return _json_serializer(ctx, value)
    payload = value if isinstance(value, bytes) else json.dumps(value).encode()
    return {"data": _HEADER.pack(0, len(payload)) + payload}


def messages(ctx: Any, response: Any) -> Any:
    """The stream's messages, decoded (malformed framing raises, and schemathesis reports it); other JSON as JSON."""
    if response.headers.get("content-type", [""])[0].split(";")[0].strip() != STREAM_TYPE:
        return response.json()
    body, at, found = response.content, 0, []
    while at < len(body):
        _, length = _HEADER.unpack_from(body, at)
        found.append(json.loads(body[at + _HEADER.size : at + _HEADER.size + length]))
        at += _HEADER.size + length
    return found


def _first(registry: dict[str, Any], media_type: str, handler: Any) -> None:
    """Put ``handler`` first: schemathesis takes the first handler of the media type's family, and
    application/json (registered first) would otherwise claim application/connect+json."""
    rest = {key: value for key, value in registry.items() if key != media_type}
    registry.clear()
    registry.update({media_type: handler, **rest})


_json_serializer = REQUESTS_TRANSPORT._serializers["application/json"]
_first(REQUESTS_TRANSPORT._serializers, STREAM_TYPE, envelope)
_first(deserialization._DESERIALIZERS, STREAM_TYPE, messages)


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    """Name the source language of generated texts that name none (or name "", the server's choice).
    The one rule no schema can say is the language a text is identified as (random characters
    read as Greek get a 400 asking for source_language); with "ar" named, every text the schema
    allows is served."""
    if isinstance(body, dict) and not body.get("sourceLanguage") and ("texts" in body or "text" in body):
        return {**body, "sourceLanguage": "ar"}
    return body
