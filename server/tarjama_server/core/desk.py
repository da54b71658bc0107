"""The desk: what an editor's work leaves behind (stored glossaries, translation memories of
approved translations), behind one interface.

``DeskStore`` is what a database must do (``store/`` implements it with SQLAlchemy; the core
never sees SQL). ``Desk`` is what the RPCs and the translator call: it checks every input
against ``DeskLimits``, reads and writes the exchange formats (``desk_files``), computes the
memory key of a source and scores near matches, and hands plain records to the store. Every
write is one call to the store, and so one transaction there.

A memory entry is found by its *key*: its source as the model reads it
(``normalize_for_model``), whitespace runs made one space. Saving the same key again in the
same memory and language pair updates the entry.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from rapidfuzz import fuzz

from .. import metrics
from ..errors import InvalidRequestError, StoreUnavailableError
from ..text.glossary import MAX_TERM_CHARS
from ..text.languages import normalize_language
from ..text.normalization import normalize_for_model
from . import desk_files

log = logging.getLogger(__name__)

DEFAULT_MEMORY = "default"
# The pair a desk call means when it names none: the service's Arabic → English.
DEFAULT_SOURCE_LANGUAGE = "ar"
DEFAULT_TARGET_LANGUAGE = "en"
DEFAULT_SEARCH_LIMIT = 10
# Candidates the index hands over per search, scored here: enough that the best by edit
# distance is among them when the index ranks by shared trigrams.
CANDIDATES_PER_SEARCH = 64
# Candidates per segment of a translation, which keeps its best match alone.
CANDIDATES_PER_SEGMENT = 16
_NAME_CHARS = 100
# Near-match searches of one translation run at once (each holds a pooled connection).
_PARALLEL_SEARCHES = 4
# Characters XML 1.0 cannot carry (TMX export) and that no editor means to save.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


@dataclass(frozen=True, kw_only=True)
class DeskLimits:
    """What a desk call must respect (ServerInfo carries them; the README documents them)."""

    max_glossary_entries: int = 2000
    max_term_chars: int = MAX_TERM_CHARS
    max_glossary_file_bytes: int = 4 * 2**20
    max_text_chars: int = 5000  # a memory entry's source and translation, each
    max_tmx_bytes: int = 32 * 2**20  # under the 64 MiB message bound, base64 in JSON included
    max_tmx_units: int = 200_000
    max_search_results: int = 50
    min_similarity: float = 0.75  # the server's default for near matches


@dataclass(frozen=True, kw_only=True)
class GlossaryRecord:
    """A stored glossary; ``entries`` is None where only the summary was read (listing)."""

    id: str
    name: str
    source_language: str
    target_language: str
    entry_count: int
    created: datetime
    updated: datetime
    entries: Mapping[str, str] | None = None


@dataclass(frozen=True, kw_only=True)
class NewMemoryEntry:
    """An approved pair to store: ``key`` is ``memory_key(source)``."""

    memory: str
    key: str
    source: str
    translation: str
    source_language: str
    target_language: str
    note: str = ""
    approver: str = ""


@dataclass(frozen=True, kw_only=True)
class MemoryEntry(NewMemoryEntry):
    """A stored entry: what was saved, with its id and times."""

    id: int
    created: datetime
    updated: datetime


@dataclass(frozen=True)
class MemoryMatch:
    entry: MemoryEntry
    similarity: float  # 0 to 1; 1.0 for the same key


@dataclass(frozen=True)
class MemorySummary:
    name: str
    entry_count: int


@dataclass(frozen=True, kw_only=True)
class GlossaryInput:
    """A glossary as a call sends it: entries, or a file's bytes with its media type."""

    name: str = ""
    source_language: str = ""
    target_language: str = ""
    entries: Mapping[str, str] = field(default_factory=dict)
    file: bytes = b""
    file_media_type: str = ""


class DeskStore(Protocol):
    """What a database keeps for the desk. Each write method is one transaction (and records
    one audit row: ``actor`` names who asked, empty until keys exist). Raises NotFoundError for
    an id it does not hold, StoreUnavailableError when the database cannot be reached."""

    kind: str  # "sqlite" or "postgresql"

    async def create_glossary(
        self, *, name: str, source_language: str, target_language: str, entries: Mapping[str, str], actor: str = ""
    ) -> GlossaryRecord: ...

    async def list_glossaries(self) -> list[GlossaryRecord]: ...

    async def get_glossary(self, glossary_id: str) -> GlossaryRecord: ...

    async def update_glossary(
        self, glossary_id: str, *, name: str | None, entries: Mapping[str, str] | None, actor: str = ""
    ) -> GlossaryRecord: ...

    async def delete_glossary(self, glossary_id: str, *, actor: str = "") -> None: ...

    async def save_translation(self, entry: NewMemoryEntry, *, actor: str = "") -> MemoryEntry: ...

    async def import_memory(self, memory: str, entries: Sequence[NewMemoryEntry], *, actor: str = "") -> int: ...

    async def delete_memory_entry(self, entry_id: int, *, actor: str = "") -> None: ...

    async def exact_matches(
        self, memory: str, source_language: str, target_language: str, keys: Collection[str]
    ) -> dict[str, MemoryEntry]: ...

    async def candidates(
        self, memory: str, source_language: str, target_language: str, key: str, limit: int, least: float
    ) -> list[MemoryEntry]:
        """Up to ``limit`` entries near ``key``, through an index; ``least`` (the similarity the
        caller will keep) lets an index prune, never decides: the core scores them."""
        ...

    async def list_memories(self) -> list[MemorySummary]: ...

    def export_memory(self, memory: str, chunk_size: int) -> AsyncIterator[list[MemoryEntry]]: ...

    async def close(self) -> None: ...


def memory_key(source: str) -> str:
    """What a memory entry is found by: the source as the model reads it, spaces collapsed."""
    return " ".join(normalize_for_model(source).split())


def similarity(key: str, other: str) -> float:
    """0 to 1: the normalized Indel similarity of two keys (rapidfuzz's ratio / 100)."""
    return fuzz.ratio(key, other) / 100.0


def check_text(name: str, text: str, max_chars: int) -> str:
    if not text.strip():
        raise InvalidRequestError(f"{name} is empty: send text with at least one non-space character")
    if len(text) > max_chars:
        raise InvalidRequestError(f"{name} has {len(text)} characters, over the desk's limit of {max_chars}")
    bad = _CONTROL.search(text)
    if bad:
        raise InvalidRequestError(
            f"{name} holds the control character U+{ord(bad.group()):04X} at {bad.start()}: remove it"
        )
    return text


def check_name(name: str, what: str, *, default: str = "") -> str:
    name = name.strip() or default
    if not name:
        raise InvalidRequestError(f"{what} is empty: give it a name")
    if len(name) > _NAME_CHARS or _CONTROL.search(name):
        raise InvalidRequestError(f"{what} {name[:40]!r}: at most {_NAME_CHARS} characters, no control characters")
    return name


def languages(source_language: str, target_language: str) -> tuple[str, str]:
    """A desk call's language pair, normalized; empty: Arabic → English."""
    source = normalize_language(source_language, "source_language") or DEFAULT_SOURCE_LANGUAGE
    target = normalize_language(target_language, "target_language") or DEFAULT_TARGET_LANGUAGE
    if source == target:
        raise InvalidRequestError(f"source_language and target_language are both {source!r}: name two languages")
    return source, target


def check_similarity(value: float | None, default: float, name: str) -> float:
    if value is None or value == 0:
        return default
    if not 0 < value <= 1:  # nan fails too
        raise InvalidRequestError(f"{name} must be between 0 and 1 (0: the server's default {default}), got {value}")
    return value


class Desk:
    """The desk's operations over a ``DeskStore`` (see the module's doc)."""

    def __init__(self, store: DeskStore, limits: DeskLimits | None = None) -> None:
        self.store = store
        self.limits = limits or DeskLimits()

    @property
    def database(self) -> str:
        return self.store.kind

    # Glossaries.

    def _entries(self, sent: GlossaryInput) -> dict[str, str]:
        """The entries of a call, from its map or its file, checked."""
        limits = self.limits
        if sent.file and sent.entries:
            raise InvalidRequestError("send the glossary's entries or a file, not both")
        if sent.file:
            if len(sent.file) > limits.max_glossary_file_bytes:
                raise InvalidRequestError(
                    f"the glossary file has {len(sent.file)} bytes, over the limit of "
                    f"{limits.max_glossary_file_bytes} (max_glossary_file_bytes)"
                )
            entries = desk_files.read_glossary(sent.file, sent.file_media_type, limits.max_glossary_entries)
        else:
            entries = dict(sent.entries)
        if len(entries) > limits.max_glossary_entries:
            raise InvalidRequestError(
                f"the glossary has {len(entries)} entries, over the limit of {limits.max_glossary_entries} "
                "(max_glossary_entries)"
            )
        for term, rendering in entries.items():
            if not term.strip() or not rendering.strip():
                raise InvalidRequestError(
                    f"glossary entry {term[:40]!r} → {rendering[:40]!r}: both sides must hold text"
                )
            if term != term.strip() or rendering != rendering.strip():
                raise InvalidRequestError(f"glossary term {term[:40]!r}: no spaces around either side")
            if len(term) > limits.max_term_chars or len(rendering) > limits.max_term_chars:
                raise InvalidRequestError(
                    f"glossary term {term[:40]!r}: at most {limits.max_term_chars} characters a side"
                )
            if _CONTROL.search(term) or _CONTROL.search(rendering):
                raise InvalidRequestError(f"glossary term {term[:40]!r} holds a control character: remove it")
        return entries

    async def create_glossary(self, sent: GlossaryInput, *, actor: str = "") -> GlossaryRecord:
        name = check_name(sent.name, "the glossary's name")
        source, target = languages(sent.source_language, sent.target_language)
        entries = await asyncio.to_thread(self._entries, sent)  # a file is parsed off the event loop
        return await self.store.create_glossary(
            name=name, source_language=source, target_language=target, entries=entries, actor=actor
        )

    async def list_glossaries(self) -> list[GlossaryRecord]:
        return await self.store.list_glossaries()

    async def get_glossary(self, glossary_id: str) -> GlossaryRecord:
        return await self.store.get_glossary(_check_id(glossary_id))

    async def update_glossary(
        self, glossary_id: str, sent: GlossaryInput, *, replace_entries: bool, actor: str = ""
    ) -> GlossaryRecord:
        name = check_name(sent.name, "the glossary's name") if sent.name.strip() else None
        if not replace_entries and (sent.entries or sent.file):
            raise InvalidRequestError("entries or a file were sent without replace_entries: set it to replace them")
        entries = await asyncio.to_thread(self._entries, sent) if replace_entries else None
        return await self.store.update_glossary(_check_id(glossary_id), name=name, entries=entries, actor=actor)

    async def delete_glossary(self, glossary_id: str, *, actor: str = "") -> None:
        await self.store.delete_glossary(_check_id(glossary_id), actor=actor)

    # Translation memory.

    async def save_translation(
        self,
        *,
        memory: str,
        source: str,
        translation: str,
        source_language: str = "",
        target_language: str = "",
        note: str = "",
        approver: str = "",
        actor: str = "",
    ) -> MemoryEntry:
        limits = self.limits
        source_language, target_language = languages(source_language, target_language)
        entry = NewMemoryEntry(
            memory=check_name(memory, "memory", default=DEFAULT_MEMORY),
            key=memory_key(check_text("source", source, limits.max_text_chars)),
            source=source,
            translation=check_text("translation", translation, limits.max_text_chars).strip(),
            source_language=source_language,
            target_language=target_language,
            note=_optional("note", note, limits.max_text_chars),
            approver=_optional("approver", approver, _NAME_CHARS),
        )
        if not entry.key:
            raise InvalidRequestError("source holds only invisible characters: send text the model would read")
        return await self.store.save_translation(entry, actor=actor)

    async def search(
        self,
        *,
        memory: str,
        text: str,
        min_similarity: float | None = None,
        limit: int = 0,
        source_language: str = "",
        target_language: str = "",
    ) -> list[MemoryMatch]:
        """The entries nearest ``text``, best first, each at least ``min_similarity`` similar."""
        limits = self.limits
        memory = check_name(memory, "memory", default=DEFAULT_MEMORY)
        check_text("text", text, limits.max_text_chars)
        least = check_similarity(min_similarity, limits.min_similarity, "min_similarity")
        if limit < 0 or limit > limits.max_search_results:
            raise InvalidRequestError(
                f"limit must be 0 (default {DEFAULT_SEARCH_LIMIT}) to {limits.max_search_results} "
                f"(max_search_results), got {limit}"
            )
        source, target = languages(source_language, target_language)
        key = memory_key(text)
        found = await self.store.candidates(memory, source, target, key, max(CANDIDATES_PER_SEARCH, limit), least)
        return _best(key, found, least, limit or DEFAULT_SEARCH_LIMIT)

    async def delete_memory_entry(self, entry_id: int, *, actor: str = "") -> None:
        if entry_id <= 0:
            raise InvalidRequestError(f"id must be a memory entry's id (a positive number), got {entry_id}")
        await self.store.delete_memory_entry(entry_id, actor=actor)

    async def list_memories(self) -> list[MemorySummary]:
        return await self.store.list_memories()

    async def import_memory(
        self, *, memory: str, tmx: bytes, source_language: str = "", target_language: str = "", actor: str = ""
    ) -> tuple[int, int]:
        """Units read and entries saved: all in one transaction, or nothing (InvalidRequestError)."""
        limits = self.limits
        memory = check_name(memory, "memory", default=DEFAULT_MEMORY)
        source, target = languages(source_language, target_language)
        if not tmx:
            raise InvalidRequestError("tmx is empty: send a TMX 1.4 document")
        if len(tmx) > limits.max_tmx_bytes:
            raise InvalidRequestError(
                f"the TMX document has {len(tmx)} bytes, over the limit of {limits.max_tmx_bytes} (max_tmx_bytes): "
                "split it into several imports"
            )
        units = await asyncio.to_thread(desk_files.read_tmx, tmx, source, target, limits)
        entries: dict[str, NewMemoryEntry] = {}  # by key: a source met twice keeps its last unit
        for unit in units:
            key = memory_key(unit.source)
            if not key:
                raise InvalidRequestError(f"{unit.where}: the {source!r} segment holds only invisible characters")
            entries[key] = NewMemoryEntry(
                memory=memory,
                key=key,
                source=unit.source,
                translation=unit.translation,
                source_language=source,
                target_language=target,
                note=unit.note,
                approver=unit.approver,
            )
        saved = await self.store.import_memory(memory, list(entries.values()), actor=actor)
        return len(units), saved

    async def export_memory(self, memory: str, *, chunk_entries: int = 1000) -> AsyncIterator[bytes]:
        """The memory as a TMX 1.4 document, in pieces of ``chunk_entries`` units (the header
        comes with the first, read before anything is sent: a database that cannot be reached
        fails the call before its first piece)."""
        memory = check_name(memory, "memory", default=DEFAULT_MEMORY)
        chunks = self.store.export_memory(memory, chunk_entries)
        first: list[MemoryEntry] = await anext(chunks, [])
        yield desk_files.tmx_header(memory) + desk_files.tmx_units(first)
        async for chunk in chunks:
            yield desk_files.tmx_units(chunk)
        yield desk_files.TMX_FOOTER

    # Translation with a memory.

    async def matches(
        self, memory: str, source_language: str, target_language: str, keys: Collection[str], min_similarity: float
    ) -> dict[str, MemoryMatch]:
        """For each key, the memory's entry for it (similarity 1.0) or its best near match at or
        above ``min_similarity``; keys with neither are left out."""
        wanted = set(keys)
        exact = await self.store.exact_matches(memory, source_language, target_language, wanted)
        found = {key: MemoryMatch(entry, 1.0) for key, entry in exact.items()}
        searching = asyncio.Semaphore(_PARALLEL_SEARCHES)

        async def nearest(key: str) -> None:
            async with searching:
                candidates = await self.store.candidates(
                    memory, source_language, target_language, key, CANDIDATES_PER_SEGMENT, min_similarity
                )
            best = _best(key, candidates, min_similarity, 1)
            if best:
                found[key] = best[0]

        outcomes = await asyncio.gather(*(nearest(key) for key in wanted - exact.keys()), return_exceptions=True)
        for outcome in outcomes:  # every search has ended: the first failure is the call's
            if isinstance(outcome, BaseException):
                raise outcome
        return found

    async def glossary_terms(self, glossary_id: str) -> dict[str, str]:
        record = await self.get_glossary(glossary_id)
        return dict(record.entries or {})


async def read_memory(
    desk: Desk,
    memory: str,
    source_language: str,
    target_language: str,
    keys: Collection[str],
    min_similarity: float,
) -> dict[str, MemoryMatch]:
    """``Desk.matches`` for a translation, which goes on without the memory when the database
    cannot be reached (counted, and logged)."""
    try:
        return await desk.matches(memory, source_language, target_language, keys, min_similarity)
    except StoreUnavailableError as error:
        metrics.MEMORY_UNAVAILABLE.inc()
        log.warning("translating without memory %r: %s", memory, error)
        return {}


def _best(key: str, candidates: Sequence[MemoryEntry], least: float, limit: int) -> list[MemoryMatch]:
    scored = [MemoryMatch(entry, similarity(key, entry.key)) for entry in candidates]
    kept = [match for match in scored if match.similarity >= least]
    kept.sort(key=lambda match: (-match.similarity, -match.entry.updated.timestamp(), match.entry.id))
    return kept[:limit]


def _check_id(glossary_id: str) -> str:
    glossary_id = glossary_id.strip()
    if not glossary_id:
        raise InvalidRequestError("id is empty: send a glossary's id (ListGlossaries lists them)")
    if len(glossary_id) > _NAME_CHARS:
        raise InvalidRequestError(f"id {glossary_id[:40]!r} is not a glossary id")
    return glossary_id


def _optional(name: str, text: str, max_chars: int) -> str:
    return check_text(name, text, max_chars).strip() if text.strip() else ""
