"""Generate the OpenAPI 3.1 document of the HTTP/JSON API from the proto descriptors (with the
proto's comments as descriptions) into server/tarjama_server/transport/web/openapi.json, which
the server serves at /openapi.json.

    python scripts/generate_openapi.py           # regenerate (needs grpcio-tools)
    python scripts/generate_openapi.py --check   # exit 1 if the committed document is stale

Every method is ``POST /tarjama.v1.TarjamaService/<Method>`` in the Connect protocol; bodies use
the proto3 JSON mapping (lowerCamelCase names; the proto's own names are accepted too). What a
request must be (required fields, sizes, ranges, enums) comes from the server's limits
(``tarjama_server.transport.openapi``, the values ServerInfo reports); the server serves the
document with its own limits filled in.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2
from tarjama_server import __version__
from tarjama_server.core.limits import RequestLimits
from tarjama_server.transport.connect import MAX_TIMEOUT_MS
from tarjama_server.transport.openapi import constrained

ROOT = Path(__file__).resolve().parents[1]
PROTO_ROOT = ROOT / "proto"
PROTO_FILE = "tarjama/v1/tarjama.proto"
OUTPUT = ROOT / "server" / "tarjama_server" / "transport" / "web" / "openapi.json"

Field = descriptor_pb2.FieldDescriptorProto
# Descriptor paths (descriptor.proto field numbers): where a comment belongs.
MESSAGE, FIELD, ENUM, VALUE, SERVICE, METHOD = 4, 2, 5, 2, 6, 2
SCALARS: dict[int, dict[str, Any]] = {
    Field.TYPE_DOUBLE: {"type": "number"},
    Field.TYPE_FLOAT: {"type": "number"},
    Field.TYPE_BOOL: {"type": "boolean"},
    Field.TYPE_STRING: {"type": "string"},
    Field.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
    **{t: {"type": "integer", "format": "int32"} for t in (5, 7, 13, 15, 17)},
    # 64-bit integers: the server sends JSON numbers (transport/connect.py: encode), and reads
    # numbers or decimal strings, as the proto3 JSON mapping has every parser do.
    **{t: {"type": "integer", "format": "int64"} for t in (3, 4, 6, 16, 18)},
}
HEADERS = [
    {
        "name": "x-request-id",
        "in": "header",
        "schema": {"type": "string"},
        "description": "The caller's request id, echoed in the response's x-request-id (made when absent).",
    },
    {
        "name": "Connect-Timeout-Ms",
        "in": "header",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_TIMEOUT_MS},
        "description": "The call's deadline in milliseconds: a positive integer of at most 10 digits, as the Connect "
        "protocol specifies (0 is malformed: invalid_argument). Absent: no deadline. A call that cannot finish in "
        "time is refused at once (resource_exhausted); one that runs past it gets deadline_exceeded (504).",
    },
]
STREAM_TYPE = "application/connect+json"
END_OF_STREAM = {
    "type": "object",
    "description": "The last message of a Connect stream (flags 2): the trailers, and the error when the call failed.",
    "properties": {
        "metadata": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        "error": {"$ref": "#/components/schemas/ConnectError"},
    },
    "additionalProperties": False,
}
ENVELOPE = (
    "each message is a flags byte, its length (4 bytes, big-endian) and the message's JSON, as "
    "https://connectrpc.com/docs/protocol#streaming-request specifies (no compression). Schemathesis needs "
    "tests/schemathesis_hooks.py to write and read it."
)
HEALTH = {
    "/healthz": "Live: 200 while the process serves.",
    "/readyz": "Ready: 200 once the models are loaded; 503 while loading or stopping.",
}
CONNECT_ERROR = {
    "type": "object",
    "description": "A Connect error (https://connectrpc.com/docs/protocol#error-end-stream). `code` is the gRPC "
    "status name in snake_case; the HTTP status follows Connect's mapping (invalid_argument 400, unauthenticated "
    "401, resource_exhausted 429 with Retry-After, unavailable 503...). The message is the one gRPC sends.",
    "properties": {
        "code": {"type": "string", "examples": ["invalid_argument", "resource_exhausted", "unavailable"]},
        "message": {"type": "string"},
        "details": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "examples": ["google.rpc.RetryInfo"]},
                    "value": {"type": "string", "contentEncoding": "base64"},
                    "debug": {"type": "object", "examples": [{"retryDelay": "4s"}]},
                },
            },
        },
    },
    "required": ["code", "message"],
}


def descriptor_set() -> descriptor_pb2.FileDescriptorProto:
    """tarjama.proto's descriptor, comments included (protoc's --include_source_info)."""
    from grpc_tools import protoc

    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "set.pb"
        args = [
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            "--include_source_info",
            f"-o{out}",
            str(PROTO_ROOT / PROTO_FILE),
        ]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    (file,) = files.file
    return file


def comments(file: descriptor_pb2.FileDescriptorProto) -> dict[tuple[int, ...], str]:
    found = {}
    for location in file.source_code_info.location:
        text = location.leading_comments.strip()
        if text:
            found[tuple(location.path)] = " ".join(line.strip() for line in text.splitlines())
    return found


def described(schema: dict[str, Any], text: str | None) -> dict[str, Any]:
    return {"description": text, **schema} if text else schema


def field_schema(field: Field, maps: dict[str, descriptor_pb2.DescriptorProto], package: str) -> dict[str, Any]:
    def one(kind: int, type_name: str) -> dict[str, Any]:
        if kind in (Field.TYPE_MESSAGE, Field.TYPE_ENUM):
            return {"$ref": f"#/components/schemas/{type_name.removeprefix('.' + package + '.')}"}
        return dict(SCALARS[kind])

    if field.type == Field.TYPE_MESSAGE and field.type_name in maps:
        value = maps[field.type_name].field[1]
        return {"type": "object", "additionalProperties": one(value.type, value.type_name)}
    if field.label == Field.LABEL_REPEATED:
        return {"type": "array", "items": one(field.type, field.type_name)}
    return one(field.type, field.type_name)


def build() -> dict[str, Any]:
    file = descriptor_set()
    notes = comments(file)
    package = file.package
    maps = {
        f".{package}.{message.name}.{nested.name}": nested
        for message in file.message_type
        for nested in message.nested_type
        if nested.options.map_entry
    }
    schemas: dict[str, Any] = {}
    for m, message in enumerate(file.message_type):
        properties = {}
        for f, field in enumerate(message.field):
            schema = field_schema(field, maps, package)
            note = notes.get((MESSAGE, m, FIELD, f))
            if field.proto3_optional:
                note = f"{note} (Absent when not set.)" if note else "Absent when not set."
            properties[field.json_name] = described(schema, note)
        schemas[message.name] = described(
            {"type": "object", "properties": properties, "additionalProperties": False}, notes.get((MESSAGE, m))
        )
    for e, enum in enumerate(file.enum_type):
        values = [value.name for value in enum.value]
        listed = "; ".join(
            f"{value.name}: {notes[(ENUM, e, VALUE, v)]}"
            for v, value in enumerate(enum.value)
            if (ENUM, e, VALUE, v) in notes
        )
        text = " ".join(part for part in (notes.get((ENUM, e)), listed) if part)
        schemas[enum.name] = described({"type": "string", "enum": values}, text + " (The number is accepted too.)")
    schemas["ConnectError"] = CONNECT_ERROR
    schemas["EndOfStream"] = END_OF_STREAM

    error = {"description": "A Connect error", "content": {"application/json": {"schema": ref("ConnectError")}}}
    paths: dict[str, Any] = {}
    (service,) = file.service
    for i, method in enumerate(service.method):
        output = method.output_type.rsplit(".", 1)[-1]
        streaming = method.server_streaming
        request_type = method.input_type.rsplit(".", 1)[-1]
        if streaming:
            # Enveloped messages, not one JSON document: the schemas say what the messages are.
            success = {
                "description": f"A Connect server stream, described as the list of its messages: {ENVELOPE} "
                f"Each message but the last is one {output} (flags 0); the last (flags 2) is EndOfStream, with "
                "its error when the call failed (a refusal at admission also sends Retry-After). The status is 200 "
                "whenever the request itself could be read.",
                "content": {
                    STREAM_TYPE: {
                        "schema": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"anyOf": [ref(output), ref("EndOfStream")]},
                        }
                    }
                },
            }
            body = {
                "description": f"One {request_type} in one envelope (flags 0): {ENVELOPE}",
                "required": True,
                "content": {STREAM_TYPE: {"schema": ref(request_type)}},
            }
        else:
            success = {"description": output, "content": {"application/json": {"schema": ref(output)}}}
            body = {"required": True, "content": {"application/json": {"schema": ref(request_type)}}}
        paths[f"/{package}.{service.name}/{method.name}"] = {
            "post": {
                "operationId": method.name,
                "summary": notes.get((SERVICE, 0, METHOD, i), method.name),
                "requestBody": body,
                "parameters": HEADERS,
                "responses": {
                    "200": success,
                    "400": error,
                    "401": error,
                    "405": {**error, "headers": {"Allow": {"schema": {"type": "string", "const": "POST"}}}},
                    "413": error,
                    "415": error,
                    "429": {
                        **error,
                        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
                    },
                    "501": error,
                    "503": error,
                    "504": error,
                    "default": error,
                },
            }
        }
    health = {"type": "object", "properties": {"status": {"type": "string"}}}
    for path, text in HEALTH.items():
        paths[path] = {
            "get": {
                "operationId": path.strip("/"),
                "summary": text,
                "security": [],
                "responses": {"200": {"description": text, "content": {"application/json": {"schema": health}}}},
            }
        }
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "Tarjama HTTP/JSON API",
            # PEP 440 (a generated client's package version): the server's; the API itself is tarjama.v1.
            "version": __version__,
            "description": "Arabic news translation and summarization: the tarjama.v1 gRPC service in the Connect "
            "protocol. Generated from proto/tarjama/v1/tarjama.proto by scripts/generate_openapi.py.",
        },
        "servers": [{"url": "/"}],
        "security": [{}, {"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "When the server has --auth-token."}
            },
        },
    }
    return constrained(document, RequestLimits())


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    fresh = render()
    if args.check:
        if not OUTPUT.is_file() or OUTPUT.read_text(encoding="utf-8") != fresh:
            print(f"stale {OUTPUT.relative_to(ROOT)}; run: python scripts/generate_openapi.py", file=sys.stderr)
            return 1
        print("the OpenAPI document is up to date")
        return 0
    OUTPUT.write_text(fresh, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
