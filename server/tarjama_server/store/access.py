"""``core.access.AccessStore`` on the desk's database: the keys (their digests), their usage
counters, and the audit log's listing. Key changes are audited in their own transaction as
desk writes are (``SqlStore._writing``).

Counters are upserts (``INSERT … ON CONFLICT DO UPDATE SET requests = requests + 1``), atomic
on both databases: replicas on one PostgreSQL share them. A call's check runs in the
transaction that counts it (SQLite: ``BEGIN IMMEDIATE``, so calls of one process queue)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..core.access import MINUTE_PREFIX, AuditRecord, Counts, KeyLimits, KeyRecord, NewKey, Periods, Usage
from ..errors import InvalidRequestError, NotFoundError
from .schema import api_keys, audit_log, key_usage
from .sql import SqlStore, _utc


class SqlAccessStore:
    def __init__(self, store: SqlStore) -> None:
        self.sql = store
        self._insert = store._insert

    async def load_keys(self) -> list[KeyRecord]:
        async with self.sql._reading() as connection:
            rows = await connection.execute(select(api_keys))
            return [_key(row) for row in rows]

    def _counter_upsert(self, key_id: int, periods: Sequence[str], requests: int, characters: int) -> Any:
        """One statement adding to the key's counter of each period (a row each, made if new)."""
        statement = self._insert(key_usage).values(
            [{"key_id": key_id, "period": period, "requests": requests, "characters": characters} for period in periods]
        )
        return statement.on_conflict_do_update(
            index_elements=["key_id", "period"],
            set_={
                "requests": key_usage.c.requests + statement.excluded.requests,
                "characters": key_usage.c.characters + statement.excluded.characters,
            },
        )

    async def _characters(
        self, connection: AsyncConnection, key_id: int, periods: Periods
    ) -> dict[str, tuple[int, int]]:
        rows = await connection.execute(
            select(key_usage.c.period, key_usage.c.requests, key_usage.c.characters).where(
                key_usage.c.key_id == key_id, key_usage.c.period.in_([periods.day, periods.month])
            )
        )
        return {period: (requests, characters) for period, requests, characters in rows}

    async def count_request(self, key_id: int, periods: Periods, decide: Callable[[Counts], None]) -> None:
        # The minute's count is committed even when the call is refused (a client hammering
        # stays limited); today's and the month's requests count only calls let through.
        refusal: Exception | None = None
        async with self.sql._guard(), self.sql._writer.begin() as connection:
            added = await connection.execute(
                self._counter_upsert(key_id, [periods.minute], 1, 0).returning(key_usage.c.requests)
            )
            minute = int(added.scalar_one())
            counts = await self._characters(connection, key_id, periods)
            try:
                decide(
                    Counts(
                        minute_requests=minute,
                        day_characters=counts.get(periods.day, (0, 0))[1],
                        month_characters=counts.get(periods.month, (0, 0))[1],
                    )
                )
            except Exception as error:
                refusal = error
            else:
                await connection.execute(self._counter_upsert(key_id, [periods.day, periods.month], 1, 0))
        if refusal is not None:
            raise refusal

    async def charge(self, key_id: int, characters: int, periods: Periods) -> None:
        async with self.sql._guard(), self.sql._writer.begin() as connection:
            await connection.execute(self._counter_upsert(key_id, [periods.day, periods.month], 0, characters))

    async def usage(self, key_id: int, periods: Periods) -> Usage:
        async with self.sql._reading() as connection:
            counts = await self._characters(connection, key_id, periods)
        day, month = counts.get(periods.day, (0, 0)), counts.get(periods.month, (0, 0))
        return Usage(
            characters_today=day[1], requests_today=day[0], characters_this_month=month[1], requests_this_month=month[0]
        )

    async def prune(self, periods: Periods) -> None:
        """Forget the minutes before this one (only the current minute's count matters)."""
        async with self.sql._guard(), self.sql._writer.begin() as connection:
            await connection.execute(
                delete(key_usage).where(
                    key_usage.c.period.startswith(MINUTE_PREFIX), key_usage.c.period < periods.minute
                )
            )

    async def list_audit(self, limit: int, before_id: int | None) -> list[AuditRecord]:
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(audit_log.c.id < before_id)
        async with self.sql._reading() as connection:
            rows = await connection.execute(query)
            return [
                AuditRecord(
                    id=row.id,
                    at=_utc(row.at),
                    actor=row.actor,
                    action=row.action,
                    subject=row.subject,
                    detail=row.detail,
                )
                for row in rows
            ]

    async def create_key(
        self, *, name: str, new: NewKey, scopes: frozenset[str], limits: KeyLimits, actor: str
    ) -> KeyRecord:
        now = datetime.now(timezone.utc)
        try:
            async with self.sql._writing("key.create", name, actor) as write:
                row = (
                    await write.connection.execute(
                        insert(api_keys)
                        .values(
                            name=name,
                            public_id=new.public_id,
                            digest=new.digest,
                            scopes=",".join(sorted(scopes)),
                            characters_per_day=limits.characters_per_day,
                            characters_per_month=limits.characters_per_month,
                            requests_per_minute=limits.requests_per_minute,
                            created_at=now,
                        )
                        .returning(*api_keys.c)
                    )
                ).one()
                write.detail.update(scopes=sorted(scopes), **dataclasses.asdict(limits))
        except IntegrityError:
            raise InvalidRequestError(
                f"a key named {name!r} exists already (revoked keys keep their names): choose another name"
            ) from None
        return _key(row)

    async def revoke_key(self, name: str, *, actor: str) -> KeyRecord:
        async with self.sql._writing("key.revoke", name, actor) as write:
            row = (
                await write.connection.execute(
                    update(api_keys)
                    .where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
                    .values(revoked_at=datetime.now(timezone.utc))
                    .returning(*api_keys.c)
                )
            ).first()
            if row is None:
                raise NotFoundError(f"no live key named {name!r}: 'tarjama-keys list' lists them")
        return _key(row)

    async def rotate_key(self, name: str, new: NewKey, *, actor: str) -> KeyRecord:
        """The key gets a new secret (shown once); the old one stops working."""
        async with self.sql._writing("key.rotate", name, actor) as write:
            row = (
                await write.connection.execute(
                    update(api_keys)
                    .where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
                    .values(public_id=new.public_id, digest=new.digest)
                    .returning(*api_keys.c)
                )
            ).first()
            if row is None:
                raise NotFoundError(f"no live key named {name!r}: 'tarjama-keys list' lists them")
        return _key(row)


def _key(row: Row[Any]) -> KeyRecord:
    return KeyRecord(
        id=row.id,
        name=row.name,
        public_id=row.public_id,
        digest=row.digest,
        scopes=frozenset(row.scopes.split(",")),
        limits=KeyLimits(
            characters_per_day=row.characters_per_day,
            characters_per_month=row.characters_per_month,
            requests_per_minute=row.requests_per_minute,
        ),
        created=_utc(row.created_at),
        revoked=_utc(row.revoked_at) if row.revoked_at is not None else None,
    )
