"""A small asyncio client of Tarjama's HTTP port (the Connect protocol, JSON), for the benchmarks:
the same calls as ``AsyncTarjamaClient`` over HTTP/1.1, one connection a call, with the call's
deadline in ``Connect-Timeout-Ms``. Failures raise ``HttpCallError`` with the gRPC status code
the Connect error names, so the benchmarks count both transports' outcomes alike."""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import grpc

SERVICE = "/tarjama.v1.TarjamaService/"


class HttpCallError(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code


def _code(name: str) -> grpc.StatusCode:
    return grpc.StatusCode.CANCELLED if name == "canceled" else grpc.StatusCode[name.upper()]


class HttpConnectClient:
    """``url``: the server's HTTP base (http://127.0.0.1:8080/); ``timeout``: each call's deadline, seconds."""

    def __init__(self, url: str, *, timeout: float = 60.0) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.timeout = timeout

    async def _post(self, method: str, body: bytes, content_type: str) -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            head = (
                f"POST {SERVICE}{method} HTTP/1.1\r\nhost: {self.host}\r\ncontent-type: {content_type}\r\n"
                f"connect-timeout-ms: {int(self.timeout * 1000)}\r\ncontent-length: {len(body)}\r\n"
                "connection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
            response = await asyncio.wait_for(reader.read(), self.timeout + 5)
        finally:
            writer.close()
        header, _, payload = response.partition(b"\r\n\r\n")
        status = int(header.split(b" ", 2)[1])
        if b"transfer-encoding: chunked" in header.lower():
            payload = _unchunk(payload)
        return status, payload

    async def call(self, method: str, message: dict[str, Any]) -> dict[str, Any]:
        status, payload = await self._post(method, json.dumps(message).encode(), "application/json")
        reply = json.loads(payload)
        if status != 200:
            raise HttpCallError(_code(reply["code"]), reply.get("message", ""))
        return dict(reply)

    async def translate(self, texts: str | list[str], **fields: Any) -> dict[str, Any]:
        """As ``AsyncTarjamaClient.translate``: ``mime_type=``, ``glossary=``, ``source_language=``..."""
        return await self.call("Translate", {"texts": [texts] if isinstance(texts, str) else texts, **_json(fields)})

    async def summarize(self, text: str, *, style: str = "", **fields: Any) -> dict[str, Any]:
        """As ``AsyncTarjamaClient.summarize``: ``style="headline"``..."""
        styled = {"style": f"SUMMARY_STYLE_{style.upper()}"} if style else {}
        return await self.call("Summarize", {"text": text, **styled, **_json(fields)})

    async def stream_translate(self, text: str, **fields: Any) -> AsyncIterator[dict[str, Any]]:
        payload = json.dumps({"texts": [text], **_json(fields)}).encode()
        status, body = await self._post(
            "StreamTranslate", struct.pack(">BI", 0, len(payload)) + payload, "application/connect+json"
        )
        if status != 200:
            reply = json.loads(body)
            raise HttpCallError(_code(reply["code"]), reply.get("message", ""))
        at = 0
        while at < len(body):
            flags, length = struct.unpack_from(">BI", body, at)
            message = json.loads(body[at + 5 : at + 5 + length])
            at += 5 + length
            if flags & 2:
                if "error" in message:
                    raise HttpCallError(_code(message["error"]["code"]), message["error"].get("message", ""))
                return
            yield message


def _json(fields: dict[str, Any]) -> dict[str, Any]:
    """Python keyword names as the JSON mapping's: ``mime_type`` → ``mimeType``."""
    return {_camel(name): value for name, value in fields.items()}


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def _unchunk(data: bytes) -> bytes:
    out, at = bytearray(), 0
    while True:
        line_end = data.index(b"\r\n", at)
        size = int(data[at:line_end].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += data[line_end + 2 : line_end + 2 + size]
        at = line_end + 2 + size + 2
