"""``core.desk.DeskStore`` on SQLAlchemy 2 (async): SQLite through aiosqlite (its calls run on
aiosqlite's own thread), PostgreSQL through asyncpg. Nothing here blocks the event loop.

* Every write is one transaction (``_writing``), which also records its audit row.
* SQLite runs in WAL mode with ``synchronous=FULL``: a commit returns once the WAL is on disk,
  so an acknowledged write survives a power cut, not only a crash (NORMAL would lose the last
  commits on power loss). Writes open with ``BEGIN IMMEDIATE``, so two writers queue on the
  busy timeout instead of failing on a stale snapshot.
* Near matches come through an index, never a scan: SQLite's FTS5 word index ranks (bm25)
  the entries sharing a word pair with the key; PostgreSQL's ``pg_trgm`` GIN index with its
  ``%`` operator. The core scores the candidates (rapidfuzz).
* A database that cannot be reached raises ``StoreUnavailableError`` (UNAVAILABLE); the pool
  checks a connection before use (``pool_pre_ping``), so the store recovers by itself.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import uuid
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy.exc
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Row, delete, event, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from .. import metrics
from ..core.desk import GlossaryRecord, MemoryEntry, MemorySummary, NewMemoryEntry
from ..errors import NotFoundError, StoreUnavailableError
from .schema import audit_log, glossaries, glossary_entries, memory_entries

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_FILE = "tarjama.db"
# How long a statement waits for another writer's lock (SQLite) or a connection (the pool).
BUSY_SECONDS = 30
CONNECT_SECONDS = 5
_IN_CHUNK = 500  # keys per IN (...) list
_INSERT_CHUNK = 1000  # rows per INSERT of an import
# The least pg_trgm (trigram) similarity of a candidate: the caller's least (Indel) similarity
# less a margin, as one edited word breaks more trigrams than characters. Measured on 100,000
# entries: a threshold of 0.2 made each search 4-6 s (most rows share some trigrams with a
# sentence), 0.45 to 0.5 about 0.1-0.6 s, the near miss still found.
_PG_TRIGRAM_MARGIN = 0.3
_PG_LEAST_TRIGRAM_SIMILARITY = 0.1
# Most phrases of a key sent to the FTS5 index (a long sentence's, spread over it).
_MAX_PHRASES = 32


def database_url(setting: str, data_dir: Path) -> str | None:
    """The SQLAlchemy URL ``--database-url`` means: None for ``none``; empty, a SQLite file in
    ``data_dir``; ``sqlite://`` and ``postgresql://`` get their async drivers. ValueError names
    the setting for anything else."""
    value = setting.strip()
    if value.lower() in ("none", "off"):
        return None
    if not value:
        return f"sqlite+aiosqlite:///{data_dir / SQLITE_FILE}"
    try:
        url = make_url(value)
    except sqlalchemy.exc.ArgumentError:
        raise ValueError(
            f"--database-url {value[:60]!r} is not a database URL: use sqlite:///PATH, postgresql://USER@HOST/DB "
            "or none"
        ) from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        return url.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres"):
        # asyncpg unless psycopg (3) is named: both are async; asyncpg is the one installed.
        driver = "postgresql+psycopg" if url.drivername == "postgresql+psycopg" else "postgresql+asyncpg"
        return url.set(drivername=driver).render_as_string(hide_password=False)
    raise ValueError(f"--database-url: {backend!r} databases are not supported: use sqlite, postgresql or none")


def redacted(url: str) -> str:
    """A database URL fit for a log line: its password hidden."""
    return make_url(url).render_as_string(hide_password=True)


async def open_store(url: str) -> SqlStore:
    """Connect, migrate to the latest schema, and return the store (the URL from ``database_url``)."""
    parsed = make_url(url)
    kind = parsed.get_backend_name()
    if kind == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": BUSY_SECONDS})
        _sqlite_setup(engine)
    else:
        engine = create_async_engine(
            url,
            pool_pre_ping=True,
            pool_size=8,
            max_overflow=8,
            pool_timeout=BUSY_SECONDS,
            connect_args=(
                {"connect_timeout": CONNECT_SECONDS}  # psycopg (3): libpq's option
                if parsed.drivername == "postgresql+psycopg"
                else {"timeout": CONNECT_SECONDS, "command_timeout": BUSY_SECONDS}  # asyncpg's
            ),
        )
    store = SqlStore(engine, kind)
    try:
        async with store._guard(), engine.begin() as connection:
            await connection.run_sync(_migrate)
    except BaseException:
        await engine.dispose()
        raise
    return store


def _migrate(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _sqlite_setup(engine: AsyncEngine) -> None:
    """WAL, FULL sync and foreign keys on every connection; transactions begun by us (BEGIN, or
    BEGIN IMMEDIATE for writes) rather than by the driver's guesses."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver's own BEGIN off: ours below
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            "foreign_keys=ON",
            f"busy_timeout={BUSY_SECONDS * 1000}",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writing = connection.get_execution_options().get("tarjama_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


@dataclass
class _Write:
    connection: AsyncConnection
    detail: dict[str, object]


class SqlStore:
    """The desk's store on one SQLAlchemy engine (see the module's doc)."""

    def __init__(self, engine: AsyncEngine, kind: str) -> None:
        self.engine = engine
        self.kind = kind
        self._writer = engine.execution_options(tarjama_write=True)
        self._insert = sqlite.insert if kind == "sqlite" else postgresql.insert

    async def close(self) -> None:
        await self.engine.dispose()

    @contextlib.asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        """The database's failures to answer, as the core's StoreUnavailableError."""
        try:
            yield
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as error:
            raise StoreUnavailableError(f"the desk's database did not answer: {_reason(error)}; retry later") from error
        except sqlalchemy.exc.DBAPIError as error:
            if not error.connection_invalidated:
                raise
            raise StoreUnavailableError(f"the desk's database went away: {_reason(error)}; retry later") from error
        except (OSError, TimeoutError, sqlalchemy.exc.TimeoutError) as error:
            raise StoreUnavailableError(
                f"the desk's database cannot be reached ({type(error).__name__}); retry later"
            ) from error

    @contextlib.asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        async with self._guard(), self.engine.connect() as connection:
            yield connection

    @contextlib.asynccontextmanager
    async def _writing(self, action: str, subject: str, actor: str) -> AsyncIterator[_Write]:
        """One transaction for one desk write, its audit row included: all of it, or none."""
        async with self._guard(), self._writer.begin() as connection:
            write = _Write(connection, {})
            yield write
            await connection.execute(
                insert(audit_log).values(
                    at=_now(),
                    actor=actor,
                    action=action,
                    subject=subject[:200],
                    detail=json.dumps(write.detail, ensure_ascii=False) if write.detail else "",
                )
            )
        metrics.DESK_WRITES.labels(action).inc()

    # Glossaries.

    async def create_glossary(
        self, *, name: str, source_language: str, target_language: str, entries: Mapping[str, str], actor: str = ""
    ) -> GlossaryRecord:
        now = _now()
        glossary_id = uuid.uuid4().hex
        async with self._writing("glossary.create", glossary_id, actor) as write:
            await write.connection.execute(
                insert(glossaries).values(
                    id=glossary_id,
                    name=name,
                    source_language=source_language,
                    target_language=target_language,
                    created_at=now,
                    updated_at=now,
                )
            )
            await self._put_entries(write.connection, glossary_id, entries)
            write.detail.update(name=name, entries=len(entries))
        return GlossaryRecord(
            id=glossary_id,
            name=name,
            source_language=source_language,
            target_language=target_language,
            entry_count=len(entries),
            created=now,
            updated=now,
            entries=dict(entries),
        )

    async def _put_entries(self, connection: AsyncConnection, glossary_id: str, entries: Mapping[str, str]) -> None:
        rows = [
            {"glossary_id": glossary_id, "term": term, "rendering": rendering} for term, rendering in entries.items()
        ]
        if rows:
            await connection.execute(insert(glossary_entries), rows)

    def _glossary_query(self) -> Any:
        count = (
            select(func.count())
            .where(glossary_entries.c.glossary_id == glossaries.c.id)
            .scalar_subquery()
            .label("entry_count")
        )
        return select(glossaries, count)

    async def list_glossaries(self) -> list[GlossaryRecord]:
        async with self._reading() as connection:
            rows = await connection.execute(self._glossary_query().order_by(glossaries.c.name, glossaries.c.id))
            return [_glossary(row) for row in rows]

    async def get_glossary(self, glossary_id: str) -> GlossaryRecord:
        async with self._reading() as connection:
            row = (await connection.execute(self._glossary_query().where(glossaries.c.id == glossary_id))).first()
            if row is None:
                raise NotFoundError(f"no glossary with id {glossary_id!r}: ListGlossaries lists the glossaries")
            entries = await connection.execute(
                select(glossary_entries.c.term, glossary_entries.c.rendering)
                .where(glossary_entries.c.glossary_id == glossary_id)
                .order_by(glossary_entries.c.term)
            )
            return _glossary(row, {term: rendering for term, rendering in entries})

    async def update_glossary(
        self, glossary_id: str, *, name: str | None, entries: Mapping[str, str] | None, actor: str = ""
    ) -> GlossaryRecord:
        async with self._writing("glossary.update", glossary_id, actor) as write:
            values: dict[str, object] = {"updated_at": _now()}
            if name is not None:
                values["name"] = name
                write.detail["name"] = name
            changed = await write.connection.execute(
                update(glossaries).where(glossaries.c.id == glossary_id).values(**values)
            )
            if changed.rowcount == 0:
                raise NotFoundError(f"no glossary with id {glossary_id!r}: ListGlossaries lists the glossaries")
            if entries is not None:
                await write.connection.execute(
                    delete(glossary_entries).where(glossary_entries.c.glossary_id == glossary_id)
                )
                await self._put_entries(write.connection, glossary_id, entries)
                write.detail["entries"] = len(entries)
        return await self.get_glossary(glossary_id)

    async def delete_glossary(self, glossary_id: str, *, actor: str = "") -> None:
        async with self._writing("glossary.delete", glossary_id, actor) as write:
            # Entries go with it (ON DELETE CASCADE; SQLite with foreign_keys=ON).
            deleted = await write.connection.execute(delete(glossaries).where(glossaries.c.id == glossary_id))
            if deleted.rowcount == 0:
                raise NotFoundError(f"no glossary with id {glossary_id!r}: ListGlossaries lists the glossaries")

    # Translation memory.

    def _upsert(self) -> Any:
        statement = self._insert(memory_entries)
        return statement.on_conflict_do_update(
            index_elements=["memory", "source_language", "target_language", "source_key"],
            set_={
                name: statement.excluded[name] for name in ("source", "translation", "note", "approver", "updated_at")
            },
        )

    async def _last_id(self, connection: AsyncConnection) -> int:
        if self.kind != "sqlite":  # PostgreSQL's GIN index follows every row by itself
            return 0
        return int((await connection.execute(select(func.coalesce(func.max(memory_entries.c.id), 0)))).scalar_one())

    async def _index_new_rows(self, connection: AsyncConnection, last_id: int) -> None:
        """Add the rows inserted since ``last_id`` to SQLite's FTS index, in one statement (the
        write holds the database's write lock, so they are this write's own rows)."""
        if self.kind == "sqlite":
            await connection.execute(
                text(
                    "INSERT INTO memory_fts(rowid, source_key) "
                    "SELECT id, source_key FROM memory_entries WHERE id > :last"
                ),
                {"last": last_id},
            )

    async def save_translation(self, entry: NewMemoryEntry, *, actor: str = "") -> MemoryEntry:
        now = _now()
        async with self._writing("memory.save", entry.memory, actor) as write:
            last_id = await self._last_id(write.connection)
            row = (
                await write.connection.execute(self._upsert().returning(*memory_entries.c), _memory_row(entry, now))
            ).one()
            await self._index_new_rows(write.connection, last_id)
            write.detail.update(entry=row.id, source_language=entry.source_language, key=entry.key[:200])
        return _memory_entry(row)

    async def import_memory(self, memory: str, entries: Sequence[NewMemoryEntry], *, actor: str = "") -> int:
        now = _now()
        async with self._writing("memory.import", memory, actor) as write:
            last_id = await self._last_id(write.connection)
            for start in range(0, len(entries), _INSERT_CHUNK):
                rows = [_memory_row(entry, now) for entry in entries[start : start + _INSERT_CHUNK]]
                await write.connection.execute(self._upsert(), rows)
            await self._index_new_rows(write.connection, last_id)
            if self.kind == "postgresql":
                # Fresh statistics at once: measured right after 100,000 rows went in, the planner,
                # still thinking the table small, scanned it for each near-match search (13 s
                # each) until autovacuum's ANALYZE came round.
                await write.connection.execute(text("ANALYZE memory_entries"))
            write.detail["entries"] = len(entries)
        return len(entries)

    async def delete_memory_entry(self, entry_id: int, *, actor: str = "") -> None:
        async with self._writing("memory.delete", str(entry_id), actor) as write:
            deleted = await write.connection.execute(
                delete(memory_entries).where(memory_entries.c.id == entry_id).returning(memory_entries.c.memory)
            )
            memory = deleted.scalar()
            if memory is None:
                raise NotFoundError(f"no memory entry with id {entry_id}")
            write.detail["memory"] = memory

    async def exact_matches(
        self, memory: str, source_language: str, target_language: str, keys: Collection[str]
    ) -> dict[str, MemoryEntry]:
        found: dict[str, MemoryEntry] = {}
        wanted = list(keys)
        async with self._reading() as connection:
            for start in range(0, len(wanted), _IN_CHUNK):
                rows = await connection.execute(
                    select(memory_entries).where(
                        memory_entries.c.memory == memory,
                        memory_entries.c.source_language == source_language,
                        memory_entries.c.target_language == target_language,
                        memory_entries.c.source_key.in_(wanted[start : start + _IN_CHUNK]),
                    )
                )
                found.update((row.source_key, _memory_entry(row)) for row in rows)
        return found

    async def candidates(
        self, memory: str, source_language: str, target_language: str, key: str, limit: int, least: float
    ) -> list[MemoryEntry]:
        same_pair = (
            memory_entries.c.memory == memory,
            memory_entries.c.source_language == source_language,
            memory_entries.c.target_language == target_language,
        )
        async with self._reading() as connection:
            if self.kind == "sqlite":
                query = _fts_query(key)
                if not query:
                    return []
                statement = (
                    select(memory_entries)
                    .select_from(memory_entries.join(text("memory_fts"), text("memory_fts.rowid = memory_entries.id")))
                    .where(text("memory_fts MATCH :query"), *same_pair)
                    .order_by(text("memory_fts.rank"))
                    .limit(limit)
                )
                rows = await connection.execute(statement, {"query": query})
            else:
                await connection.execute(
                    text("SELECT set_config('pg_trgm.similarity_threshold', :least, true)"),
                    {"least": str(max(_PG_LEAST_TRIGRAM_SIMILARITY, least - _PG_TRIGRAM_MARGIN))},
                )
                statement = (
                    select(memory_entries)
                    .where(memory_entries.c.source_key.op("%")(key), *same_pair)
                    .order_by(func.similarity(memory_entries.c.source_key, key).desc())
                    .limit(limit)
                )
                rows = await connection.execute(statement)
            return [_memory_entry(row) for row in rows]

    async def list_memories(self) -> list[MemorySummary]:
        async with self._reading() as connection:
            rows = await connection.execute(
                select(memory_entries.c.memory, func.count())
                .group_by(memory_entries.c.memory)
                .order_by(memory_entries.c.memory)
            )
            return [MemorySummary(name, count) for name, count in rows]

    async def export_memory(self, memory: str, chunk_size: int) -> AsyncIterator[list[MemoryEntry]]:
        """The memory's entries by id, ``chunk_size`` at a time, each chunk its own short read
        (no transaction stays open while a slow client reads the stream)."""
        last = 0
        while True:
            async with self._reading() as connection:
                rows = await connection.execute(
                    select(memory_entries)
                    .where(memory_entries.c.memory == memory, memory_entries.c.id > last)
                    .order_by(memory_entries.c.id)
                    .limit(chunk_size)
                )
                chunk = [_memory_entry(row) for row in rows]
            if not chunk:
                return
            yield chunk
            last = chunk[-1].id


def _fts_query(key: str) -> str:
    """An FTS5 query for the candidates of ``key``: entries holding any of its word pairs as a
    phrase (a near match keeps most of them: one changed word breaks two), or for keys of four
    words or fewer any of its words. At most ``_MAX_PHRASES``, spread over the key."""
    words = [word for word in key.split() if any(char.isalnum() for char in word)]
    phrases = words if len(words) <= 4 else [f"{first} {second}" for first, second in itertools.pairwise(words)]
    phrases = list(dict.fromkeys(phrases))
    if len(phrases) > _MAX_PHRASES:
        step = len(phrases) / _MAX_PHRASES
        phrases = [phrases[int(i * step)] for i in range(_MAX_PHRASES)]
    return " OR ".join('"' + phrase.replace('"', '""') + '"' for phrase in phrases)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive times: they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _reason(error: sqlalchemy.exc.DBAPIError) -> str:
    return str(error.orig).splitlines()[0][:200] if error.orig is not None else type(error).__name__


def _glossary(row: Row[Any], entries: Mapping[str, str] | None = None) -> GlossaryRecord:
    return GlossaryRecord(
        id=row.id,
        name=row.name,
        source_language=row.source_language,
        target_language=row.target_language,
        entry_count=row.entry_count,
        created=_utc(row.created_at),
        updated=_utc(row.updated_at),
        entries=entries,
    )


def _memory_row(entry: NewMemoryEntry, now: datetime) -> dict[str, object]:
    return {
        "memory": entry.memory,
        "source_language": entry.source_language,
        "target_language": entry.target_language,
        "source_key": entry.key,
        "source": entry.source,
        "translation": entry.translation,
        "note": entry.note,
        "approver": entry.approver,
        "created_at": now,
        "updated_at": now,
    }


def _memory_entry(row: Row[Any]) -> MemoryEntry:
    return MemoryEntry(
        id=row.id,
        memory=row.memory,
        key=row.source_key,
        source=row.source,
        translation=row.translation,
        source_language=row.source_language,
        target_language=row.target_language,
        note=row.note,
        approver=row.approver,
        created=_utc(row.created_at),
        updated=_utc(row.updated_at),
    )
