"""The desk's records as the clients return them (glossaries, memory entries and matches), and
the desk calls (``Rpc``: each request, and what the caller gets from its response), decided
once for both clients, which only send them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from google.protobuf.message import Message

from .v1 import tarjama_pb2 as pb


@dataclass(frozen=True)
class Glossary:
    id: str
    name: str
    source_language: str
    target_language: str
    entry_count: int
    create_time: str  # RFC 3339, UTC
    update_time: str
    # Term → rendering; empty from list_glossaries.
    entries: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_pb(cls, message: pb.Glossary) -> Glossary:
        return cls(
            id=message.id,
            name=message.name,
            source_language=message.source_language,
            target_language=message.target_language,
            entry_count=message.entry_count,
            create_time=message.create_time,
            update_time=message.update_time,
            entries=dict(message.entries),
        )


@dataclass(frozen=True)
class MemoryEntry:
    id: int
    memory: str
    source: str
    translation: str
    source_language: str
    target_language: str
    note: str
    approver: str
    create_time: str
    update_time: str

    @classmethod
    def from_pb(cls, message: pb.MemoryEntry) -> MemoryEntry:
        return cls(
            id=message.id,
            memory=message.memory,
            source=message.source,
            translation=message.translation,
            source_language=message.source_language,
            target_language=message.target_language,
            note=message.note,
            approver=message.approver,
            create_time=message.create_time,
            update_time=message.update_time,
        )


@dataclass(frozen=True)
class MemoryMatch:
    """A memory entry found for a text: ``similarity`` 1.0 for the same normalized source."""

    entry_id: int
    similarity: float
    source: str
    translation: str
    approve_time: str
    approver: str

    @classmethod
    def from_pb(cls, message: pb.MemoryMatch) -> MemoryMatch:
        return cls(
            entry_id=message.entry_id,
            similarity=message.similarity,
            source=message.source,
            translation=message.translation,
            approve_time=message.approve_time,
            approver=message.approver,
        )


@dataclass(frozen=True)
class MemorySummary:
    name: str
    entry_count: int


@dataclass(frozen=True)
class TranslateDesk:
    """What a translation asks of the desk: a stored glossary (``glossary_id``), a translation
    memory (``memory``) and the least similarity of a near match (None: the server's default)."""

    glossary_id: str = ""
    memory: str = ""
    memory_min_similarity: float | None = None

    def fields(self) -> dict[str, Any]:
        """The TranslateRequest fields (an unset similarity stays unset)."""
        chosen: dict[str, Any] = {"glossary_id": self.glossary_id, "memory": self.memory}
        if self.memory_min_similarity is not None:
            chosen["memory_min_similarity"] = self.memory_min_similarity
        return chosen


Answer = TypeVar("Answer")


@dataclass(frozen=True)
class Rpc(Generic[Answer]):
    """One desk call, decided once for both clients: the service method's name, its request,
    and what the caller gets from a response (from each message of a stream). The clients
    only send it (``TarjamaClient._send``, ``AsyncTarjamaClient._send``)."""

    method: str
    request: Message
    answer: Callable[[Any], Answer]


def create_glossary(
    name: str,
    entries: Mapping[str, str] | None,
    file: bytes,
    file_media_type: str,
    source_language: str,
    target_language: str,
) -> Rpc[Glossary]:
    request = pb.CreateGlossaryRequest(
        name=name,
        entries=dict(entries or {}),
        file=file,
        file_media_type=file_media_type,
        source_language=source_language,
        target_language=target_language,
    )
    return Rpc("CreateGlossary", request, Glossary.from_pb)


def list_glossaries() -> Rpc[list[Glossary]]:
    return Rpc("ListGlossaries", pb.ListGlossariesRequest(), lambda r: [Glossary.from_pb(g) for g in r.glossaries])


def get_glossary(glossary_id: str) -> Rpc[Glossary]:
    return Rpc("GetGlossary", pb.GetGlossaryRequest(id=glossary_id), Glossary.from_pb)


def update_glossary(
    glossary_id: str, name: str, entries: Mapping[str, str] | None, file: bytes, file_media_type: str
) -> Rpc[Glossary]:
    """Entries (or a file) given: they replace the glossary's; neither: only the name changes."""
    request = pb.UpdateGlossaryRequest(
        id=glossary_id,
        name=name,
        replace_entries=entries is not None or bool(file),
        entries=dict(entries or {}),
        file=file,
        file_media_type=file_media_type,
    )
    return Rpc("UpdateGlossary", request, Glossary.from_pb)


def delete_glossary(glossary_id: str) -> Rpc[None]:
    return Rpc("DeleteGlossary", pb.DeleteGlossaryRequest(id=glossary_id), lambda _: None)


def save_translation(
    source: str, translation: str, memory: str, source_language: str, target_language: str, note: str, approver: str
) -> Rpc[MemoryEntry]:
    request = pb.SaveTranslationRequest(
        memory=memory, source=source, translation=translation, source_language=source_language,
        target_language=target_language, note=note, approver=approver,
    )  # fmt: skip
    return Rpc("SaveTranslation", request, MemoryEntry.from_pb)


def search_memory(
    text: str, memory: str, min_similarity: float | None, limit: int, source_language: str, target_language: str
) -> Rpc[list[MemoryMatch]]:
    request = pb.SearchMemoryRequest(
        memory=memory, text=text, limit=limit, source_language=source_language, target_language=target_language
    )
    if min_similarity is not None:
        request.min_similarity = min_similarity
    return Rpc("SearchMemory", request, lambda r: [MemoryMatch.from_pb(match) for match in r.matches])


def delete_memory_entry(entry_id: int) -> Rpc[None]:
    return Rpc("DeleteMemoryEntry", pb.DeleteMemoryEntryRequest(id=entry_id), lambda _: None)


def list_memories() -> Rpc[list[MemorySummary]]:
    return Rpc(
        "ListMemories", pb.ListMemoriesRequest(), lambda r: [MemorySummary(m.name, m.entry_count) for m in r.memories]
    )


def import_memory(tmx: bytes, memory: str, source_language: str, target_language: str) -> Rpc[tuple[int, int]]:
    """Answers (units read, entries saved)."""
    request = pb.ImportMemoryRequest(
        memory=memory, tmx=tmx, source_language=source_language, target_language=target_language
    )
    return Rpc("ImportMemory", request, lambda r: (r.units, r.saved))


def export_memory(memory: str) -> Rpc[bytes]:
    """A server stream: each message answers one piece of the TMX document."""
    return Rpc("ExportMemory", pb.ExportMemoryRequest(memory=memory), lambda chunk: chunk.tmx)


MEDIA_TYPES = {".tsv": "text/tab-separated-values", ".txt": "text/tab-separated-values", ".csv": "text/csv",
               ".tbx": "application/x-tbx", ".xml": "application/x-tbx"}  # fmt: skip
