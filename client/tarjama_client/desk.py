"""The desk's records as the clients return them (glossaries, memory entries and matches), and
the ``tarjama.v1`` requests the clients send for them: one place for both clients."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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


def create_glossary_request(
    name: str,
    entries: Mapping[str, str] | None,
    file: bytes,
    file_media_type: str,
    source_language: str,
    target_language: str,
) -> pb.CreateGlossaryRequest:
    return pb.CreateGlossaryRequest(
        name=name,
        entries=dict(entries or {}),
        file=file,
        file_media_type=file_media_type,
        source_language=source_language,
        target_language=target_language,
    )


def update_glossary_request(
    glossary_id: str, name: str, entries: Mapping[str, str] | None, file: bytes, file_media_type: str
) -> pb.UpdateGlossaryRequest:
    """Entries (or a file) given: they replace the glossary's; neither: only the name changes."""
    return pb.UpdateGlossaryRequest(
        id=glossary_id,
        name=name,
        replace_entries=entries is not None or bool(file),
        entries=dict(entries or {}),
        file=file,
        file_media_type=file_media_type,
    )


def search_request(
    text: str, memory: str, min_similarity: float | None, limit: int, source_language: str, target_language: str
) -> pb.SearchMemoryRequest:
    request = pb.SearchMemoryRequest(
        memory=memory, text=text, limit=limit, source_language=source_language, target_language=target_language
    )
    if min_similarity is not None:
        request.min_similarity = min_similarity
    return request


def matches(response: pb.SearchMemoryResponse) -> list[MemoryMatch]:
    return [MemoryMatch.from_pb(match) for match in response.matches]


def summaries(response: pb.ListMemoriesResponse) -> list[MemorySummary]:
    return [MemorySummary(memory.name, memory.entry_count) for memory in response.memories]


MEDIA_TYPES = {".tsv": "text/tab-separated-values", ".txt": "text/tab-separated-values", ".csv": "text/csv",
               ".tbx": "application/x-tbx", ".xml": "application/x-tbx"}  # fmt: skip
