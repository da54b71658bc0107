"""The desk's RPCs as every transport runs them (gRPC and Connect alike, as ``methods``):
``tarjama.v1`` request in, ``core.desk.Desk``, ``tarjama.v1`` response out. Each checks
nothing itself: the desk does, so a bad call gets the same message over any transport."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime, timezone

from tarjama_client.v1 import tarjama_pb2 as pb

from ..core.desk import GlossaryInput, GlossaryRecord, MemoryEntry, MemoryMatch
from .calls import Call, ServerState


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def glossary(record: GlossaryRecord) -> pb.Glossary:
    return pb.Glossary(
        id=record.id,
        name=record.name,
        source_language=record.source_language,
        target_language=record.target_language,
        entries=dict(record.entries or {}),
        entry_count=record.entry_count,
        create_time=rfc3339(record.created),
        update_time=rfc3339(record.updated),
    )


def memory_entry(entry: MemoryEntry) -> pb.MemoryEntry:
    return pb.MemoryEntry(
        id=entry.id,
        memory=entry.memory,
        source=entry.source,
        translation=entry.translation,
        source_language=entry.source_language,
        target_language=entry.target_language,
        note=entry.note,
        approver=entry.approver,
        create_time=rfc3339(entry.created),
        update_time=rfc3339(entry.updated),
    )


def memory_match(match: MemoryMatch) -> pb.MemoryMatch:
    entry = match.entry
    return pb.MemoryMatch(
        entry_id=entry.id,
        similarity=round(match.similarity, 4),
        source=entry.source,
        translation=entry.translation,
        approve_time=rfc3339(entry.updated),
        approver=entry.approver,
    )


async def create_glossary(state: ServerState, request: pb.CreateGlossaryRequest, call: Call) -> pb.Glossary:
    sent = GlossaryInput(
        name=request.name,
        source_language=request.source_language,
        target_language=request.target_language,
        entries=dict(request.entries),
        file=request.file,
        file_media_type=request.file_media_type,
    )
    return glossary(await state.require_desk().create_glossary(sent, actor=call.principal.name))


async def list_glossaries(
    state: ServerState, request: pb.ListGlossariesRequest, call: Call
) -> pb.ListGlossariesResponse:
    return pb.ListGlossariesResponse(
        glossaries=[glossary(record) for record in await state.require_desk().list_glossaries()]
    )


async def get_glossary(state: ServerState, request: pb.GetGlossaryRequest, call: Call) -> pb.Glossary:
    return glossary(await state.require_desk().get_glossary(request.id))


async def update_glossary(state: ServerState, request: pb.UpdateGlossaryRequest, call: Call) -> pb.Glossary:
    sent = GlossaryInput(
        name=request.name, entries=dict(request.entries), file=request.file, file_media_type=request.file_media_type
    )
    return glossary(
        await state.require_desk().update_glossary(
            request.id, sent, replace_entries=request.replace_entries, actor=call.principal.name
        )
    )


async def delete_glossary(
    state: ServerState, request: pb.DeleteGlossaryRequest, call: Call
) -> pb.DeleteGlossaryResponse:
    await state.require_desk().delete_glossary(request.id, actor=call.principal.name)
    return pb.DeleteGlossaryResponse()


async def save_translation(state: ServerState, request: pb.SaveTranslationRequest, call: Call) -> pb.MemoryEntry:
    saved = await state.require_desk().save_translation(
        memory=request.memory,
        source=request.source,
        translation=request.translation,
        source_language=request.source_language,
        target_language=request.target_language,
        note=request.note,
        approver=request.approver,
        actor=call.principal.name,
    )
    return memory_entry(saved)


async def search_memory(state: ServerState, request: pb.SearchMemoryRequest, call: Call) -> pb.SearchMemoryResponse:
    matches = await state.require_desk().search(
        memory=request.memory,
        text=request.text,
        min_similarity=request.min_similarity if request.HasField("min_similarity") else None,
        limit=request.limit,
        source_language=request.source_language,
        target_language=request.target_language,
    )
    return pb.SearchMemoryResponse(
        matches=[memory_match(match) for match in matches], entries=[memory_entry(match.entry) for match in matches]
    )


async def delete_memory_entry(
    state: ServerState, request: pb.DeleteMemoryEntryRequest, call: Call
) -> pb.DeleteMemoryEntryResponse:
    await state.require_desk().delete_memory_entry(request.id, actor=call.principal.name)
    return pb.DeleteMemoryEntryResponse()


async def list_memories(state: ServerState, request: pb.ListMemoriesRequest, call: Call) -> pb.ListMemoriesResponse:
    summaries = await state.require_desk().list_memories()
    return pb.ListMemoriesResponse(
        memories=[pb.MemorySummary(name=summary.name, entry_count=summary.entry_count) for summary in summaries]
    )


async def import_memory(state: ServerState, request: pb.ImportMemoryRequest, call: Call) -> pb.ImportMemoryResponse:
    units, saved = await state.require_desk().import_memory(
        memory=request.memory,
        tmx=request.tmx,
        source_language=request.source_language,
        target_language=request.target_language,
        actor=call.principal.name,
    )
    return pb.ImportMemoryResponse(units=units, saved=saved)


async def export_memory(
    state: ServerState, request: pb.ExportMemoryRequest, call: Call
) -> AsyncGenerator[pb.ExportMemoryChunk, None]:
    desk = state.require_desk()
    async for piece in desk.export_memory(request.memory):
        state.still_valid(call)  # a key revoked while its stream runs ends it
        yield pb.ExportMemoryChunk(tmx=piece)
