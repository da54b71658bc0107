"""Synchronous client.

from tarjama_client import TarjamaClient
with TarjamaClient("localhost:50051") as client:
    result = client.translate(article)
    print(result.translations[0].text)
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import grpc
from grpc_health.v1 import health_pb2

from . import _convert, _many, desk
from ._base import ClientBase
from ._many import DEFAULT_CONCURRENCY, ManyOptions
from ._retry import AttemptObserver
from .aio import AsyncTarjamaClient
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


class TarjamaClient(ClientBase):
    _grpc_api = grpc

    def __enter__(self) -> TarjamaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _call(self, method: Any, request: Any, timeout: float | None, on_attempt: AttemptObserver | None = None) -> Any:
        attempts = self._attempts(timeout, time.monotonic(), on_attempt)
        while True:
            try:
                response = method(request, timeout=attempts.start(time.monotonic()), metadata=self.config.metadata)
            except grpc.RpcError as error:
                delay = attempts.failed(error, time.monotonic())
            else:
                attempts.succeeded(time.monotonic())
                return response
            time.sleep(delay)

    def _stream(
        self, method: Any, request: Any, timeout: float | None, on_attempt: AttemptObserver | None = None
    ) -> Iterator[Any]:
        attempts = self._attempts(timeout, time.monotonic(), on_attempt)
        while True:
            stream = method(request, timeout=attempts.start(time.monotonic()), metadata=self.config.metadata)
            answered = False
            try:
                for message in stream:
                    answered = True
                    yield message
            except grpc.RpcError as error:
                delay = attempts.failed(error, time.monotonic(), answered=answered)
            else:
                attempts.succeeded(time.monotonic())
                return
            finally:
                stream.cancel()
            time.sleep(delay)

    def _send(self, rpc: desk.Rpc[Answer], timeout: float | None) -> Answer:
        """A unary desk call: its request and its answer are ``desk``'s."""
        return rpc.answer(self._call(getattr(self._stub, rpc.method), rpc.request, timeout))

    def translate(
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
        """Translate one text or several (headline, body, captions); one result per text.
        ``mime_type="text/html"`` translates HTML and keeps its markup; ``glossary`` maps source
        terms to the renderings the translation must use. ``on_attempt(error, seconds)`` hears
        how each attempt ended (``error`` None on success), retries included."""
        request = _convert.translate_request(
            texts, source_language, target_language, options, mime_type, glossary, alternatives, desk
        )
        return _convert.translate_result(self._call(self._stub.Translate, request, timeout, on_attempt))

    def stream_translate(
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
    ) -> Iterator[TranslateEvent]:
        """Segments in order, as they are translated. A refused stream is retried until its
        first event, never after."""
        request = _convert.translate_request(
            texts, source_language, target_language, options, mime_type, glossary, alternatives, desk
        )
        for event in self._stream(self._stub.StreamTranslate, request, timeout, on_attempt):
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
    ) -> Iterator[BatchResult]:
        """Translate many items (``BatchItem``, or bare texts whose id is their position), each in
        a call of its own, yielding a ``BatchResult`` as each finishes (not in input order).
        A failed item carries its ``error``; it never stops the others. ``summarize`` adds a
        summary (``summary_language``, ``style``) to each item. Calls in flight start at 2 and
        adapt to the servers up to ``concurrency``: more while latency holds, fewer on
        RESOURCE_EXHAUSTED, and none until the server's pushback has passed. Pass an
        ``AdaptiveConcurrency`` instead of a number to tune the policy or read its ``limit``.

        The calls run on an event loop in a thread of its own, on a second channel with this
        client's settings; ``items`` is read from that thread. Stop reading (``break``) and the
        calls in flight are cancelled."""
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
        return _many.in_thread(lambda: AsyncTarjamaClient.from_config(self.config), items, concurrency, shared)

    def summarize(
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
        """``style``: one of ``STYLE_NAMES`` ("" for the server's default);
        ``mime_type`` "text/html": ``text`` is an HTML document, summarized from its text."""
        request = _convert.summarize_request(
            text, source_language, summary_language, max_summary_tokens, num_beams, style, mime_type
        )
        return _convert.summarize_result(self._call(self._stub.Summarize, request, timeout, on_attempt))

    def list_models(self, *, timeout: float | None = None) -> list[ModelInfo]:
        return _convert.model_infos(self._call(self._stub.ListModels, pb.ListModelsRequest(), timeout))

    def server_info(self, *, timeout: float | None = None) -> ServerInfo:
        """The limits this server enforces (texts, characters, beams, summary tokens, queue seconds,
        alternatives), its version, engines and cache size."""
        return _convert.server_info(self._call(self._stub.ListModels, pb.ListModelsRequest(), timeout))

    def health(self, service: str = "", *, timeout: float = 5.0) -> str:
        """The health status name: "SERVING", "NOT_SERVING", ..."""
        response = self._call(self._health.Check, health_pb2.HealthCheckRequest(service=service), timeout)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)

    def wait_until_ready(self, timeout: float = 600.0, poll_seconds: float = 0.5) -> None:
        """Block until health reports SERVING (models loaded), or raise ServerUnavailableError."""
        readiness = self._readiness(timeout, time.monotonic())
        while (probe_timeout := readiness.probe_timeout(time.monotonic())) is not None:
            try:
                if readiness.heard(self.health(timeout=probe_timeout)):
                    return
            except ServerUnavailableError as error:
                readiness.last = error.details
            time.sleep(poll_seconds)
        raise readiness.not_ready()

    # The desk: glossaries and translation memory (tarjama_client.desk has the records and the calls).

    def create_glossary(
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
        return self._send(rpc, timeout)

    def list_glossaries(self, *, timeout: float | None = None) -> list[desk.Glossary]:
        return self._send(desk.list_glossaries(), timeout)

    def get_glossary(self, glossary_id: str, *, timeout: float | None = None) -> desk.Glossary:
        return self._send(desk.get_glossary(glossary_id), timeout)

    def update_glossary(
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
        return self._send(desk.update_glossary(glossary_id, name, entries, file, file_media_type), timeout)

    def delete_glossary(self, glossary_id: str, *, timeout: float | None = None) -> None:
        self._send(desk.delete_glossary(glossary_id), timeout)

    def save_translation(
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
        return self._send(rpc, timeout)

    def search_memory(
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
        return self._send(rpc, timeout)

    def delete_memory_entry(self, entry_id: int, *, timeout: float | None = None) -> None:
        self._send(desk.delete_memory_entry(entry_id), timeout)

    def list_memories(self, *, timeout: float | None = None) -> list[desk.MemorySummary]:
        return self._send(desk.list_memories(), timeout)

    def import_memory(
        self,
        tmx: bytes,
        *,
        memory: str = "",
        source_language: str = "",
        target_language: str = "",
        timeout: float | None = None,
    ) -> tuple[int, int]:
        """Add a TMX 1.4 document's units to ``memory`` (all or nothing): (units read, entries saved)."""
        return self._send(desk.import_memory(tmx, memory, source_language, target_language), timeout)

    def export_memory(self, *, memory: str = "", timeout: float | None = None) -> Iterator[bytes]:
        """``memory`` as TMX 1.4, in pieces: write them one after the other."""
        rpc = desk.export_memory(memory)
        for chunk in self._stream(getattr(self._stub, rpc.method), rpc.request, timeout):
            yield rpc.answer(chunk)
