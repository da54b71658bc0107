"""The result cache on its own: its byte bound (least recently used out first) and its
single flight (identical work runs once; a failed leader hands over). Through a server,
test_trust.py checks that a repeated call is served from it."""

from __future__ import annotations

import asyncio

import pytest
from tarjama_server.core.cache import ENTRY_OVERHEAD, ResultCache


def test_cache_keeps_its_byte_bound_evicting_least_recently_used() -> None:
    cache: ResultCache[str] = ResultCache(max_bytes=5 * (ENTRY_OVERHEAD + 10))
    for n in range(5):
        cache.put(n, f"value {n}", 10)
    assert cache.peek(0) == "value 0"  # 0 is now the most recently used
    cache.put(5, "value 5", 10)
    assert cache.bytes <= cache.max_bytes and len(cache) == 5
    assert cache.peek(1) is None and cache.peek(0) == "value 0"
    cache.put("big", "x", cache.max_bytes)  # larger than the whole cache: not stored, nothing evicted
    assert cache.peek("big") is None and len(cache) == 5
    for n in range(100):
        cache.put(("more", n), "v", 10 + n % 7)
        assert cache.bytes <= cache.max_bytes


def test_single_flight_runs_once_and_a_failed_leader_hands_over() -> None:
    async def scenario() -> None:
        cache: ResultCache[str] = ResultCache(max_bytes=10_000)
        calls: list[str] = []
        gate = asyncio.Event()

        async def compute(name: str, fail: bool = False) -> str:
            calls.append(name)
            await gate.wait()
            if fail:
                raise RuntimeError("leader failed")
            return name

        leader = asyncio.ensure_future(cache.run("k", lambda: compute("first"), len, kind="test"))
        followers = [asyncio.ensure_future(cache.run("k", lambda: compute("other"), len, kind="test")) for _ in "ab"]
        while cache.waiting < 2:
            await asyncio.sleep(0)
        gate.set()
        assert await leader == ("first", False)
        assert [await f for f in followers] == [("first", True)] * 2
        assert calls == ["first"]
        assert await cache.run("k", lambda: compute("again"), len, kind="test") == ("first", True)

        gate.clear()
        failing = asyncio.ensure_future(cache.run("f", lambda: compute("bad", fail=True), len, kind="test"))
        waiter = asyncio.ensure_future(cache.run("f", lambda: compute("good"), len, kind="test"))
        while cache.waiting < 1:
            await asyncio.sleep(0)
        gate.set()
        with pytest.raises(RuntimeError):
            await failing
        assert await waiter == ("good", False)  # it computed the value itself

        off: ResultCache[str] = ResultCache(max_bytes=0)
        assert await off.run("k", lambda: compute("x"), len, kind="test") == ("x", False)
        assert await off.run("k", lambda: compute("y"), len, kind="test") == ("y", False)

    asyncio.run(scenario())
