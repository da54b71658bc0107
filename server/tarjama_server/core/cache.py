"""The result cache: in-process, least recently used out first, bounded in bytes, single-flight.

Newsrooms send the same boilerplate, datelines, headlines and whole updated articles again
and again. A pipeline keys each model input by everything that decides the output (the
model id@revision, the engine and its compute type, the decoding settings, the exact text
the model reads) and asks ``run``: a stored result comes back at once; while the same key
is being computed, later callers wait for that one computation instead of starting their
own (if it fails or its caller leaves, the next waiter computes it). A pipeline may also
``peek`` before admission, so that stored results cost no admission and no batch slot.

The size of an entry is an estimate of what it holds (its key's text and its value's
text, plus a fixed overhead per entry); the total never exceeds ``max_bytes`` (0 disables
the cache: ``run`` always computes).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from .. import metrics

V = TypeVar("V")

# Bytes counted for each entry beside its texts: the dict slot, the key tuple, the value object.
ENTRY_OVERHEAD = 256


def text_bytes(*texts: str) -> int:
    """The bytes of ``texts`` as an entry's size counts them (UTF-8)."""
    return sum(len(text.encode("utf-8")) for text in texts)


@dataclass
class _Entry(Generic[V]):
    value: V
    size: int


class ResultCache(Generic[V]):
    """The server's one cache, shared by the pipelines (each key starts with its kind). Use it
    from one event loop."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(0, max_bytes)
        self.bytes = 0
        self._entries: OrderedDict[Hashable, _Entry[V]] = OrderedDict()
        self._in_flight: dict[Hashable, asyncio.Future[V]] = {}
        self.waiting = 0  # callers waiting for another's computation of the same key

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def __len__(self) -> int:
        return len(self._entries)

    def peek(self, key: Hashable) -> V | None:
        """The stored value for ``key`` (marked as recently used), or None. Counts no hit or miss."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry.value

    @staticmethod
    def count_hit(kind: str) -> None:
        """Count a hit served from a value ``peek`` returned."""
        metrics.CACHE_REQUESTS.labels(kind, "hit").inc()

    def put(self, key: Hashable, value: V, size: int) -> None:
        """Store ``value`` as ``size`` bytes (plus the entry overhead), evicting the least
        recently used entries to stay within the bound. Too big an entry is not stored."""
        size += ENTRY_OVERHEAD
        if not self.enabled or size > self.max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old.size
        self._entries[key] = _Entry(value, size)
        self.bytes += size
        evicted = 0
        while self.bytes > self.max_bytes:
            _, entry = self._entries.popitem(last=False)
            self.bytes -= entry.size
            evicted += 1
        if evicted:
            metrics.CACHE_EVICTIONS.inc(evicted)
        metrics.CACHE_BYTES.set(self.bytes)
        metrics.CACHE_ENTRIES.set(len(self._entries))

    async def run(
        self, key: Hashable, compute: Callable[[], Awaitable[V]], size: Callable[[V], int], *, kind: str
    ) -> tuple[V, bool]:
        """The value for ``key`` and whether it came from the cache (stored, or computed by a
        concurrent caller): computed by ``compute`` only when neither; stored as ``size(value)``.
        ``kind`` ("translation", "summary") labels the hit and miss counts."""
        if not self.enabled:
            metrics.CACHE_REQUESTS.labels(kind, "miss").inc()
            return await compute(), False
        while True:
            stored = self.peek(key)
            if stored is not None:
                metrics.CACHE_REQUESTS.labels(kind, "hit").inc()
                return stored, True
            leader = self._in_flight.get(key)
            if leader is None:
                break
            # Wait for the computation already running; never cancel it for our own sake.
            self.waiting += 1
            try:
                await asyncio.wait({leader})
            finally:
                self.waiting -= 1
            if not leader.cancelled() and leader.exception() is None:
                metrics.CACHE_REQUESTS.labels(kind, "hit").inc()
                return leader.result(), True
            # It failed or its caller left: look again (another waiter may have taken over).
        metrics.CACHE_REQUESTS.labels(kind, "miss").inc()
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            value = await compute()
        except BaseException as error:
            if isinstance(error, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(error)
                future.exception()  # retrieved: waiters compute it again, nobody else reads it
            raise
        finally:
            if self._in_flight.get(key) is future:
                del self._in_flight[key]
        self.put(key, value, size(value))
        future.set_result(value)
        return value, False
