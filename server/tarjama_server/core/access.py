"""Who may do what, and how much: API keys, their scopes and limits (the access issue).

``Gate`` is the one key check of both transports. It reads a cached table of the keys
(refreshed from the database every ``refresh_seconds``), so an unknown key costs a dict
lookup and a SHA-256, never a query: a burst of wrong keys cannot reach the database.

A key is ``tjk_<public id>_<secret>``: 12 hex characters of public id (how a key is found
in the table, and shown by ``tarjama-keys list``), then 256 random bits. The database keeps
the SHA-256 of the whole key, compared with ``hmac.compare_digest``. A fast hash is right
here, where bcrypt or argon2 would be wrong: those slow down guessing of *low-entropy*
secrets (passwords); a 256-bit random key cannot be guessed whatever the hash, and a slow
hash would cost every call (and each of an attacker's wrong keys) its CPU: measured here,
SHA-256 of a key 6 µs, scrypt at OWASP's least cost (n=2**14) 456 ms, PBKDF2-SHA256 at 600,000
rounds 2.2 s (2 cores at load 13). A stolen database yields digests, not keys.

The limits are decided here, in plain functions (``decide``); the store counts (atomic
upserts, so replicas on one PostgreSQL share the counts) and calls ``decide`` inside the
transaction that counts the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Protocol

from ..errors import (
    InvalidRequestError,
    PermissionDeniedError,
    QuotaExhaustedError,
    RateLimitedError,
    StoreUnavailableError,
    UnauthenticatedError,
)

log = logging.getLogger(__name__)

SCOPES = ("translate", "summarize", "memory.read", "memory.write", "glossary.write", "admin")
ADMIN = "admin"
# The one table: the scope each RPC needs (None: any valid key). ``admin`` holds every scope.
SCOPE_BY_METHOD: Mapping[str, str | None] = {
    "Translate": "translate",
    "StreamTranslate": "translate",
    "Summarize": "summarize",
    "ListModels": None,
    "GetUsage": None,
    "ListGlossaries": "translate",  # a translating client picks a glossary_id
    "GetGlossary": "translate",
    "CreateGlossary": "glossary.write",
    "UpdateGlossary": "glossary.write",
    "DeleteGlossary": "glossary.write",
    "SearchMemory": "memory.read",
    "ListMemories": "memory.read",
    "ExportMemory": "memory.read",
    "SaveTranslation": "memory.write",
    "DeleteMemoryEntry": "memory.write",
    "ImportMemory": "memory.write",
    "ListAudit": ADMIN,
}
# Calls a key makes uncounted: asking what it used.
UNCOUNTED = frozenset({"GetUsage"})
KEY_PREFIX = "tjk_"
_KEY = re.compile(r"tjk_([0-9a-f]{12})_[A-Za-z0-9_-]{43}")
# The name the audit and metrics give --auth-token's caller.
AUTH_TOKEN_NAME = "auth-token"
REFRESH_SECONDS = 3.0
MAX_REFRESH_SECONDS = 10.0
# Audit entries a page (ListAudit, tarjama-keys audit): the default and the most.
DEFAULT_AUDIT_PAGE = 50
MAX_AUDIT_PAGE = 500


@dataclass(frozen=True, kw_only=True)
class KeyLimits:
    """0: no limit."""

    characters_per_day: int = 0
    characters_per_month: int = 0
    requests_per_minute: int = 0


@dataclass(frozen=True, kw_only=True)
class KeyRecord:
    """A key as the database keeps it: never the key itself, its SHA-256 (``digest``)."""

    id: int
    name: str
    public_id: str
    digest: str
    scopes: frozenset[str]
    limits: KeyLimits
    created: datetime
    revoked: datetime | None = None

    @property
    def shown(self) -> str:
        """How ``list`` shows the key: its public part only."""
        return f"{KEY_PREFIX}{self.public_id}_…"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key (``key_id``), or --auth-token / an open server (``key_id`` None)."""

    name: str
    scopes: frozenset[str]
    key_id: int | None = None
    limits: KeyLimits = field(default_factory=KeyLimits)

    def allows(self, scope: str | None) -> bool:
        return scope is None or scope in self.scopes or ADMIN in self.scopes


OPEN = Principal("", frozenset({ADMIN}))  # a server that requires no key
TOKEN = Principal(AUTH_TOKEN_NAME, frozenset({ADMIN}))


@dataclass(frozen=True)
class NewKey:
    key: str  # shown once, never stored
    public_id: str
    digest: str


def new_key() -> NewKey:
    public_id = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{public_id}_{secrets.token_urlsafe(32)}"
    return NewKey(key, public_id, digest(key))


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def check_scopes(scopes: Sequence[str]) -> frozenset[str]:
    chosen = frozenset(scope.strip() for scope in scopes if scope.strip())
    unknown = sorted(chosen - set(SCOPES))
    if unknown:
        raise InvalidRequestError(f"unknown scope {', '.join(unknown)}: choose from {', '.join(SCOPES)}")
    if not chosen:
        raise InvalidRequestError(f"a key needs at least one scope: {', '.join(SCOPES)}")
    return chosen


# Periods: usage is counted per UTC minute (the rate limit), day and month (the quotas).


# Prefixes that differ in more than case: SQLite's LIKE ignores case.
MINUTE_PREFIX = "min:"


@dataclass(frozen=True)
class Periods:
    minute: str
    day: str
    month: str
    next_minute: datetime
    next_day: datetime
    next_month: datetime

    @classmethod
    def at(cls, now: datetime) -> Periods:
        now = now.astimezone(timezone.utc)
        minute = now.replace(second=0, microsecond=0)
        day = minute.replace(hour=0, minute=0)
        month = day.replace(day=1)
        next_month = (month + timedelta(days=32)).replace(day=1)
        return cls(
            minute=f"{MINUTE_PREFIX}{minute:%Y-%m-%dT%H:%M}",
            day=f"day:{day:%Y-%m-%d}",
            month=f"mon:{month:%Y-%m}",
            next_minute=minute + timedelta(minutes=1),
            next_day=day + timedelta(days=1),
            next_month=next_month,
        )


@dataclass(frozen=True)
class Counts:
    """What a key has used: this minute's requests (this one included), today's and this
    month's characters (before this call)."""

    minute_requests: int
    day_characters: int
    month_characters: int


def decide(name: str, limits: KeyLimits, counts: Counts, characters: int, periods: Periods, now: datetime) -> None:
    """Refuse the call (raise) when it is over the key's rate or quota. ``characters``: the
    most the call can cost (its text); it is charged only the model's characters after."""
    if limits.requests_per_minute and counts.minute_requests > limits.requests_per_minute:
        wait = max(0.001, (periods.next_minute - now).total_seconds())
        raise RateLimitedError(
            f"key {name!r} is over its rate of {limits.requests_per_minute} requests a minute "
            f"(requests_per_minute): retry in {wait:.0f} s",
            retry_after=wait,
        )
    for limit, used, quota, resets in (
        (limits.characters_per_day, counts.day_characters, "characters_per_day", periods.next_day),
        (limits.characters_per_month, counts.month_characters, "characters_per_month", periods.next_month),
    ):
        if limit and used + characters > limit:
            left = max(0, limit - used)
            raise QuotaExhaustedError(
                f"key {name!r} has {left} of its {limit} characters left ({quota}) and this call sends {characters}: "
                f"the quota resets at {resets:%Y-%m-%dT%H:%M:%SZ}; ask the operator for a larger quota"
            )


@dataclass(frozen=True)
class Usage:
    characters_today: int
    requests_today: int
    characters_this_month: int
    requests_this_month: int


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: str


class AccessStore(Protocol):
    """What the database keeps for access (``store/access.py``). Each write is one transaction
    with its audit row."""

    async def load_keys(self) -> list[KeyRecord]: ...

    async def count_request(
        self, key_id: int, periods: Periods, decide: Callable[[Counts], None]
    ) -> None:  # counts this minute's request; ``decide`` raises to refuse; else counts today's and the month's
        ...

    async def charge(self, key_id: int, characters: int, periods: Periods) -> None: ...

    async def usage(self, key_id: int, periods: Periods) -> Usage: ...

    async def list_audit(self, limit: int, before_id: int | None) -> list[AuditRecord]: ...

    async def create_key(
        self, *, name: str, new: NewKey, scopes: frozenset[str], limits: KeyLimits, actor: str
    ) -> KeyRecord: ...

    async def revoke_key(self, name: str, *, actor: str) -> KeyRecord: ...

    async def rotate_key(self, name: str, new: NewKey, *, actor: str) -> KeyRecord: ...

    async def prune(self, periods: Periods) -> None: ...


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


class Gate:
    """The key check of both transports (see the module's doc). ``auth_token``: --auth-token,
    an admin key; ``store``: None without a database (then only the token exists)."""

    def __init__(
        self,
        auth_token: str = "",
        store: AccessStore | None = None,
        *,
        refresh_seconds: float = REFRESH_SECONDS,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        if not 0 < refresh_seconds <= MAX_REFRESH_SECONDS:
            raise ValueError(
                f"--key-refresh-seconds must be above 0 and at most {MAX_REFRESH_SECONDS:g} (a revoked key must stop "
                f"working within {MAX_REFRESH_SECONDS:g} s), got {refresh_seconds}"
            )
        self._token = auth_token.encode()
        self.store = store
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._keys: dict[str, KeyRecord] = {}  # live keys by public id
        self._revoked: set[int] = set()
        self._any_key = False
        self._task: asyncio.Task[None] | None = None
        self._charges: dict[int, set[asyncio.Task[None]]] = {}  # by key id: charges not yet written

    @property
    def required(self) -> bool:
        """A key is required once --auth-token is set or any key was ever made."""
        return bool(self._token) or self._any_key

    async def refresh(self) -> None:
        if self.store is None:
            return
        keys = await self.store.load_keys()
        self._keys = {key.public_id: key for key in keys if key.revoked is None}
        self._revoked = {key.id for key in keys if key.revoked is not None}
        self._any_key = bool(keys)

    async def start(self) -> None:
        """Read the table now, then every ``refresh_seconds`` (a database that does not answer
        keeps the last table: a warning, and the next try)."""
        await self.refresh()
        if self.store is not None and self._task is None:
            self._task = asyncio.create_task(self._refreshing())

    async def _refreshing(self) -> None:
        assert self.store is not None
        pruned = ""  # the minute of the last prune: old minutes appear only as the minute turns
        while True:
            await asyncio.sleep(self.refresh_seconds)
            try:
                await self.refresh()
                periods = Periods.at(self.clock())
                if periods.minute != pruned:
                    await self.store.prune(periods)
                    pruned = periods.minute
            except StoreUnavailableError as error:
                log.warning("the key table was not refreshed (the last one stays): %s", error)
            except Exception as error:  # never let the refresh stop: revocations must keep arriving
                log.error("the key table was not refreshed (the last one stays): %s", type(error).__name__)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._charged(None)

    async def _charged(self, key_id: int | None) -> None:
        """Wait for the charges of ``key_id`` (None: all) still being written."""
        pending = [task for key, tasks in self._charges.items() if key_id in (None, key) for task in tasks]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    def authenticate(self, authorization: object) -> Principal:
        """The caller of a call whose ``authorization`` header (or metadata) is ``authorization``."""
        if not self.required:
            return OPEN
        sent = authorization if isinstance(authorization, str) else ""
        scheme, _, key = sent.partition(" ")
        key = key.strip()
        if scheme.lower() == "bearer" and key:
            if self._token and hmac.compare_digest(key.encode(), self._token):
                return TOKEN
            match = _KEY.fullmatch(key)
            record = self._keys.get(match.group(1)) if match else None
            if record is not None and hmac.compare_digest(digest(key), record.digest):
                return Principal(record.name, record.scopes, record.id, record.limits)
        raise UnauthenticatedError(
            "missing, unknown or revoked key: send the header 'Authorization: Bearer <key>' (over gRPC, the "
            "metadata 'authorization: Bearer <key>') with a key from 'tarjama-keys create' or the server's --auth-token"
        )

    def authorize(self, principal: Principal, method: str) -> None:
        scope = SCOPE_BY_METHOD.get(method)
        if not principal.allows(scope):
            raise PermissionDeniedError(
                f"key {principal.name!r} lacks the scope {scope!r} that {method} needs "
                f"(it has {', '.join(sorted(principal.scopes))}): use a key with {scope!r}"
            )

    def check(self, authorization: object, method: str) -> Principal:
        """Authenticate and authorize, from the cached table alone."""
        principal = self.authenticate(authorization)
        self.authorize(principal, method)
        return principal

    def still_valid(self, principal: Principal) -> None:
        """Raise once the key was revoked (a stream checks between its events)."""
        if principal.key_id is not None and principal.key_id in self._revoked:
            raise UnauthenticatedError(f"key {principal.name!r} was revoked during this call")

    async def admit(self, principal: Principal, method: str, characters: int) -> None:
        """Count the call against its key's limits, and refuse it when over them (GetUsage, the
        key asking what it used, is neither counted nor limited)."""
        if principal.key_id is None or self.store is None or method in UNCOUNTED:
            return
        await self._charged(principal.key_id)  # this process's last charges count
        now = self.clock()
        periods = Periods.at(now)
        await self.store.count_request(
            principal.key_id,
            periods,
            lambda counts: decide(principal.name, principal.limits, counts, characters, periods, now),
        )

    def charge_later(self, principal: Principal, characters: int) -> None:
        """Charge the model's characters once a call has ended (its report came after the answer)."""
        if principal.key_id is None or self.store is None or characters <= 0:
            return
        task = asyncio.get_running_loop().create_task(self._charge(principal, characters))
        pending = self._charges.setdefault(principal.key_id, set())
        pending.add(task)
        task.add_done_callback(pending.discard)

    async def _charge(self, principal: Principal, characters: int) -> None:
        assert self.store is not None and principal.key_id is not None
        try:
            await self.store.charge(principal.key_id, characters, Periods.at(self.clock()))
        except StoreUnavailableError as error:
            log.warning("%d characters of key %r were not charged: %s", characters, principal.name, error)

    async def usage(self, principal: Principal) -> tuple[Usage, Periods]:
        """The key's use today and this month; nothing for a call without a key (an open server,
        or --auth-token): only keys are counted."""
        periods = Periods.at(self.clock())
        if principal.key_id is None or self.store is None:
            return Usage(0, 0, 0, 0), periods
        await self._charged(principal.key_id)  # what this process's calls cost, written
        return await self.store.usage(principal.key_id, periods), periods
