"""API keys, their limits and the audit log on a real database (``core.access`` over
``store.access``): every test runs on SQLite and on PostgreSQL (a throwaway cluster; skipped
with the reason where there is none)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import delete, event, select
from tarjama_server.core.access import Gate, KeyLimits, Periods, Principal, check_scopes, new_key
from tarjama_server.core.desk import Desk, GlossaryInput
from tarjama_server.errors import (
    InvalidRequestError,
    PermissionDeniedError,
    QuotaExhaustedError,
    RateLimitedError,
    UnauthenticatedError,
)
from tarjama_server.store import open_store
from tarjama_server.store.access import SqlAccessStore
from tarjama_server.store.schema import api_keys, key_usage
from tarjama_server.store.sql import SqlStore

from .test_store import _url


@pytest_asyncio.fixture(loop_scope="function")
async def sql(database_url: str) -> AsyncIterator[SqlStore]:
    store = await open_store(_url(database_url))
    try:
        yield store
    finally:
        # Leave no key behind on the session's PostgreSQL: a key, even revoked, makes servers require one.
        async with store.engine.begin() as connection:
            await connection.execute(delete(key_usage))
            await connection.execute(delete(api_keys))
        await store.close()


async def make_key(store: SqlAccessStore, name: str, scopes: str, **limits: int) -> str:
    made = new_key()
    await store.create_key(
        name=name, new=made, scopes=check_scopes(scopes.split(",")), limits=KeyLimits(**limits), actor="test"
    )
    return made.key


class QueryCounter:
    """Counts the statements an engine sends to its database."""

    def __init__(self, sql: SqlStore) -> None:
        self.statements: list[str] = []
        self._engine = sql.engine.sync_engine
        event.listen(self._engine, "before_cursor_execute", self._count)

    def _count(self, connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._count)


@pytest.mark.asyncio(loop_scope="function")
async def test_keys_are_kept_hashed_and_wrong_keys_never_reach_the_database(sql: SqlStore) -> None:
    store = SqlAccessStore(sql)
    gate = Gate("admin-token", store)
    key = await make_key(store, "cms", "translate,summarize")
    await gate.refresh()
    assert gate.check(f"Bearer {key}", "Translate").name == "cms"
    async with sql.engine.connect() as connection:
        (row,) = (await connection.execute(select(api_keys))).all()
    assert key not in repr(tuple(row))  # only its SHA-256 is kept
    assert row.digest == hashlib.sha256(key.encode()).hexdigest()

    counter = QueryCounter(sql)
    live_public_id = key.split("_")[1]
    wrong = [
        *(f"Bearer {new_key().key}" for _ in range(4000)),  # well formed, unknown
        *(f"Bearer tjk_{live_public_id}_{new_key().key[-43:]}" for _ in range(4000)),  # a live id, a wrong secret
        *(f"Bearer admin-token{i}" for i in range(1000)),
        *(f"bearer {key[:-1]}x" for _ in range(500)),
        *(f"Basic {key}" for _ in range(250)),
        *("" for _ in range(250)),
    ]
    assert len(wrong) == 10_000
    try:
        for sent in wrong:
            with pytest.raises(UnauthenticatedError):
                gate.check(sent, "Translate")
    finally:
        counter.close()
    assert counter.statements == []  # 10,000 wrong keys: no query at all
    assert gate.check(f"Bearer {key}", "Translate").name == "cms"  # the right one still works
    assert gate.check("Bearer admin-token", "ListAudit").name == "auth-token"


@pytest.mark.asyncio(loop_scope="function")
async def test_scopes_revocation_and_rotation(sql: SqlStore) -> None:
    store = SqlAccessStore(sql)
    gate = Gate("", store)
    assert not gate.required  # an open server, until a key exists
    key = await make_key(store, "cms", "translate")
    await gate.refresh()
    assert gate.required
    with pytest.raises(UnauthenticatedError):
        gate.check("", "Translate")
    with pytest.raises(PermissionDeniedError, match=r"'memory\.write' that SaveTranslation needs"):
        gate.check(f"Bearer {key}", "SaveTranslation")
    principal = gate.check(f"Bearer {key}", "Translate")
    rotated = new_key()
    await store.rotate_key("cms", rotated, actor="test")
    await gate.refresh()
    with pytest.raises(UnauthenticatedError):
        gate.check(f"Bearer {key}", "Translate")
    assert gate.check(f"Bearer {rotated.key}", "Translate").name == "cms"
    gate.still_valid(principal)
    await store.revoke_key("cms", actor="test")
    with pytest.raises(InvalidRequestError, match="exists already"):
        await make_key(store, "cms", "translate")
    await gate.refresh()
    with pytest.raises(UnauthenticatedError):
        gate.check(f"Bearer {rotated.key}", "Translate")
    with pytest.raises(UnauthenticatedError, match="revoked during this call"):
        gate.still_valid(principal)
    assert gate.required  # every key revoked: still closed
    with pytest.raises(InvalidRequestError, match="unknown scope"):
        check_scopes(["translate", "write"])


@pytest.mark.asyncio(loop_scope="function")
async def test_a_quota_of_one_character(sql: SqlStore) -> None:
    store = SqlAccessStore(sql)
    gate = Gate("", store)
    await make_key(store, "tiny", "translate", characters_per_day=1)
    await gate.refresh()
    (record,) = gate._keys.values()
    tiny = Principal(record.name, record.scopes, record.id, record.limits)
    with pytest.raises(QuotaExhaustedError, match=r"has 1 of its 1 characters left \(characters_per_day\)") as refused:
        await gate.admit(tiny, "Translate", 2)
    assert "resets at" in str(refused.value) and " s" not in str(refused.value).split("resets at")[1]
    assert not isinstance(refused.value, RateLimitedError)  # no retry hint: waiting seconds does not help
    await gate.admit(tiny, "Translate", 1)
    gate.charge_later(tiny, 1)
    with pytest.raises(QuotaExhaustedError, match="has 0 of its 1 characters left"):
        await gate.admit(tiny, "Translate", 1)
    usage, periods = await gate.usage(tiny)
    assert (usage.characters_today, usage.requests_today) == (1, 1)  # refused calls are not counted
    assert (usage.characters_this_month, usage.requests_this_month) == (1, 1)
    assert periods.next_day > datetime.now(timezone.utc)


@pytest.mark.asyncio(loop_scope="function")
async def test_the_rate_holds_across_replicas(sql: SqlStore, database_url: str) -> None:
    """Two servers (two engines on one database) share one key's count of requests a minute."""
    other = await open_store(_url(database_url))
    try:
        first, second = SqlAccessStore(sql), SqlAccessStore(other)
        await make_key(first, "busy", "translate", requests_per_minute=5)
        gates = [Gate("", first), Gate("", second)]
        for gate in gates:
            await gate.refresh()
        record = next(iter(gates[0]._keys.values()))
        busy = Principal(record.name, record.scopes, record.id, record.limits)
        # Inside one minute whatever the wall clock: the count is per UTC minute.
        moment = datetime(2026, 12, 4, 12, 0, 30, tzinfo=timezone.utc)
        for gate in gates:
            gate.clock = lambda: moment
        outcomes = await asyncio.gather(
            *(gates[i % 2].admit(busy, "Translate", 10) for i in range(8)), return_exceptions=True
        )
        refused = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        assert len(refused) == 3 and all(isinstance(error, RateLimitedError) for error in refused)
        assert all(0 < error.retry_after <= 30 for error in refused if isinstance(error, RateLimitedError))
        assert "requests_per_minute" in str(refused[0])
        usage, _ = await gates[1].usage(busy)
        assert usage.requests_today == 5
        # Old minutes are pruned; the day's and month's counts stay.
        await first.prune(Periods.at(datetime(2026, 12, 4, 12, 5, tzinfo=timezone.utc)))
        kept = await first.usage(record.id, Periods.at(moment))
        assert (kept.requests_today, kept.requests_this_month) == (5, 5)
    finally:
        await other.close()


@pytest.mark.asyncio(loop_scope="function")
async def test_the_audit_names_the_key_newest_first_paged(sql: SqlStore) -> None:
    store = SqlAccessStore(sql)
    desk = Desk(sql)
    await make_key(store, "editor", "memory.write")
    created = await desk.create_glossary(GlossaryInput(name="names", entries={"حلب": "Aleppo"}), actor="editor")
    await desk.save_translation(memory="default", source="حلب.", translation="Aleppo.", actor="editor")
    await desk.delete_glossary(created.id, actor="editor")
    await store.revoke_key("editor", actor="tarjama-keys:root")
    first = await store.list_audit(3, None)
    assert [entry.action for entry in first] == ["key.revoke", "glossary.delete", "memory.save"]
    assert [entry.actor for entry in first] == ["tarjama-keys:root", "editor", "editor"]
    rest = await store.list_audit(3, first[-1].id)
    assert [entry.action for entry in rest] == ["glossary.create", "key.create"]
    assert '"entries": 1' in rest[0].detail
    assert all(entry.at <= datetime.now(timezone.utc) for entry in first + rest)
