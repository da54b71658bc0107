"""asyncio client, the same calls as ``TarjamaClient`` awaited.

async with AsyncTarjamaClient("localhost:50051") as client:
    async for event in client.stream_translate(article):
        ...
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

import grpc
from grpc_health.v1 import health_pb2

from . import _convert, _many, desk
from ._base import ClientBase
from ._many import DEFAULT_CONCURRENCY, ManyOptions
from ._retry import AttemptObserver
from .concurrency import AdaptiveConcurrency
from .desk import Answer, TranslateDesk
from .errors import ServerUnavailableError
from .types import (
    BatchItem,
    BatchResult,
    DecodingOptions,
    ModelInfo,
    ServerInfo,
    SummarizeResult,
    TranslateEvent,
    TranslateResult,
)
from .v1 import tarjama_pb2 as pb


class AsyncTarjamaClient(ClientBase):
    _grpc_api = grpc.aio

    async def __aenter__(self) -> AsyncTarjamaClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def _call(
        self, method: Any, request: Any, timeout: float | None, on_attempt: AttemptObserver | None = None
    ) -> Any:
        loop = asyncio.get_running_loop()
        attempts = self._attempts(timeout, loop.time(), on_attempt)
        while True:
            try:
                response = await method(request, timeout=attempts.start(loop.time()), metadata=self.config.metadata)
            except grpc.RpcError as error:
                delay = attempts.failed(error, loop.time())
            else:
                attempts.succeeded(loop.time())
                return response
            await asyncio.sleep(delay)

    async def _stream(
        self, method: Any, request: Any, timeout: float | None, on_attempt: AttemptObserver | None = None
    ) -> AsyncIterator[Any]:
        loop = asyncio.get_running_loop()
        attempts = self._attempts(timeout, loop.time(), on_attempt)
        while True:
            call = method(request, timeout=attempts.start(loop.time()), metadata=self.config.metadata)
            answered = False
            try:
                async for message in call:
                    answered = True
                    yield message
            except grpc.RpcError as error:
                delay = attempts.failed(error, loop.time(), answered=answered)
            else:
                attempts.succeeded(loop.time())
                return
            finally:
                call.cancel()
            await asyncio.sleep(delay)

    async def _send(self, rpc: desk.Rpc[Answer], timeout: float | None) -> Answer:
        """A unary desk call: its request and its answer are ``desk``'s."""
        return rpc.answer(await self._call(getattr(self._stub, rpc.method), rpc.request, timeout))

    async def translate(
        self,
        texts: str | Sequence[str],
        *,
        source_language: str = "",
        target_language: str = "",
        options: DecodingOptions | None = None,
        mime_type: str = "",
        glossary: Mapping[str, str] | None = None,
        alternatives: int = 0,
        desk: TranslateDesk | None = None,
        timeout: float | None = None,
        on_attempt: AttemptObserver | None = None,
    ) -> TranslateResult:
        """``TarjamaClient.translate``, awaited."""
        request = _convert.translate_request(
            texts, source_language, target_language, options, mime_type, glossary, alternatives, desk
        )
        return _convert.translate_result(await self._call(self._stub.Translate, request, timeout, on_attempt))

    async def stream_translate(
        self,
        texts: str | Sequence[str],
        *,
        source_language: str = "",
        target_language: str = "",
        options: DecodingOptions | None = None,
        mime_type: str = "",
        glossary: Mapping[str, str] | None = None,
        alternatives: int = 0,
        desk: TranslateDesk | None = None,
        timeout: float | None = None,
        on_attempt: AttemptObserver | None = None,
    ) -> AsyncIterator[TranslateEvent]:
        """``TarjamaClient.stream_translate`` as an async iterator."""
        request = _convert.translate_request(
            texts, source_language, target_language, options, mime_type, glossary, alternatives, desk
        )
        async for event in self._stream(self._stub.StreamTranslate, request, timeout, on_attempt):
            yield _convert.translate_event(event)

    def translate_many(
        self,
        items: Iterable[BatchItem | str],
        *,
        concurrency: int | AdaptiveConcurrency = DEFAULT_CONCURRENCY,
        source_language: str = "",
        target_language: str = "",
        options: DecodingOptions | None = None,
        mime_type: str = "",
        glossary: Mapping[str, str] | None = None,
        summarize: bool = False,
        summary_language: str = "",
        style: str = "",
        timeout: float | None = None,
    ) -> AsyncGenerator[BatchResult, None]:
        """``TarjamaClient.translate_many`` as an async generator: a ``BatchResult`` per item as
        each finishes. To stop early, close it (``async with contextlib.aclosing(client.translate_many(...))``):
        the calls in flight are then cancelled."""
        shared = ManyOptions(
            source_language=source_language,
            target_language=target_language,
            options=options,
            mime_type=mime_type,
            glossary=glossary,
            summarize=summarize,
            summary_language=summary_language,
            style=style,
            timeout=timeout,
        )
        return _many.translate_many(self, items, concurrency, shared)

    async def summarize(
        self,
        text: str,
        *,
        source_language: str = "",
        summary_language: str = "",
        max_summary_tokens: int = 0,
        num_beams: int = 0,
        style: str = "",
        mime_type: str = "",
        timeout: float | None = None,
        on_attempt: AttemptObserver | None = None,
    ) -> SummarizeResult:
        """``TarjamaClient.summarize``, awaited."""
        request = _convert.summarize_request(
            text, source_language, summary_language, max_summary_tokens, num_beams, style, mime_type
        )
        return _convert.summarize_result(await self._call(self._stub.Summarize, request, timeout, on_attempt))

    async def list_models(self, *, timeout: float | None = None) -> list[ModelInfo]:
        return _convert.model_infos(await self._call(self._stub.ListModels, pb.ListModelsRequest(), timeout))

    async def server_info(self, *, timeout: float | None = None) -> ServerInfo:
        """The limits this server enforces (texts, characters, beams, summary tokens, queue seconds,
        alternatives), its version, engines and cache size."""
        return _convert.server_info(await self._call(self._stub.ListModels, pb.ListModelsRequest(), timeout))

    async def health(self, service: str = "", *, timeout: float = 5.0) -> str:
        response = await self._call(self._health.Check, health_pb2.HealthCheckRequest(service=service), timeout)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)

    async def wait_until_ready(self, timeout: float = 600.0, poll_seconds: float = 0.5) -> None:
        loop = asyncio.get_running_loop()
        readiness = self._readiness(timeout, loop.time())
        while (probe_timeout := readiness.probe_timeout(loop.time())) is not None:
            try:
                if readiness.heard(await self.health(timeout=probe_timeout)):
                    return
            except ServerUnavailableError as error:
                readiness.last = error.details
            await asyncio.sleep(poll_seconds)
        raise readiness.not_ready()

    # The desk: glossaries and translation memory (tarjama_client.desk has the records and the calls).

    async def create_glossary(
        self,
        name: str,
        *,
        entries: Mapping[str, str] | None = None,
        file: bytes = b"",
        file_media_type: str = "",
        source_language: str = "",
        target_language: str = "",
        timeout: float | None = None,
    ) -> desk.Glossary:
        """Store a glossary: ``entries`` (term → rendering), or a TSV/CSV/TBX ``file`` with its media type."""
        rpc = desk.create_glossary(name, entries, file, file_media_type, source_language, target_language)
        return await self._send(rpc, timeout)

    async def list_glossaries(self, *, timeout: float | None = None) -> list[desk.Glossary]:
        return await self._send(desk.list_glossaries(), timeout)

    async def get_glossary(self, glossary_id: str, *, timeout: float | None = None) -> desk.Glossary:
        return await self._send(desk.get_glossary(glossary_id), timeout)

    async def update_glossary(
        self,
        glossary_id: str,
        *,
        name: str = "",
        entries: Mapping[str, str] | None = None,
        file: bytes = b"",
        file_media_type: str = "",
        timeout: float | None = None,
    ) -> desk.Glossary:
        """Rename (``name``) and/or replace the entries (``entries`` or ``file``)."""
        return await self._send(desk.update_glossary(glossary_id, name, entries, file, file_media_type), timeout)

    async def delete_glossary(self, glossary_id: str, *, timeout: float | None = None) -> None:
        await self._send(desk.delete_glossary(glossary_id), timeout)

    async def save_translation(
        self,
        source: str,
        translation: str,
        *,
        memory: str = "",
        source_language: str = "",
        target_language: str = "",
        note: str = "",
        approver: str = "",
        timeout: float | None = None,
    ) -> desk.MemoryEntry:
        """Approve ``translation`` for ``source`` in ``memory`` (default "default")."""
        rpc = desk.save_translation(source, translation, memory, source_language, target_language, note, approver)
        return await self._send(rpc, timeout)

    async def search_memory(
        self,
        text: str,
        *,
        memory: str = "",
        min_similarity: float | None = None,
        limit: int = 0,
        source_language: str = "",
        target_language: str = "",
        timeout: float | None = None,
    ) -> list[desk.MemoryMatch]:
        """The approved pairs nearest ``text``, best first."""
        rpc = desk.search_memory(text, memory, min_similarity, limit, source_language, target_language)
        return await self._send(rpc, timeout)

    async def delete_memory_entry(self, entry_id: int, *, timeout: float | None = None) -> None:
        await self._send(desk.delete_memory_entry(entry_id), timeout)

    async def list_memories(self, *, timeout: float | None = None) -> list[desk.MemorySummary]:
        return await self._send(desk.list_memories(), timeout)

    async def import_memory(
        self,
        tmx: bytes,
        *,
        memory: str = "",
        source_language: str = "",
        target_language: str = "",
        timeout: float | None = None,
    ) -> tuple[int, int]:
        """Add a TMX 1.4 document's units to ``memory`` (all or nothing): (units read, entries saved)."""
        return await self._send(desk.import_memory(tmx, memory, source_language, target_language), timeout)

    async def export_memory(self, *, memory: str = "", timeout: float | None = None) -> AsyncIterator[bytes]:
        """``memory`` as TMX 1.4, in pieces: write them one after the other."""
        rpc = desk.export_memory(memory)
        async for chunk in self._stream(getattr(self._stub, rpc.method), rpc.request, timeout):
            yield rpc.answer(chunk)
