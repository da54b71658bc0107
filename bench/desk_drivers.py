"""asyncpg against psycopg 3 under the desk's store (a benchmark, not a test): the same Desk
calls on a throwaway PostgreSQL cluster through each driver (psycopg is not a dependency:
``pip install 'psycopg[binary]'`` to run it).

    python bench/desk_drivers.py --entries 5000 --calls 300
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import random
import sys
import time
from pathlib import Path

from desk import corpus, near_miss, tmx
from load import ROOT, percentile
from tarjama_server.core.desk import Desk, DeskLimits, memory_key
from tarjama_server.store import database_url, open_store


async def measure(url: str, sources: list[str], calls: int, rng: random.Random) -> dict[str, list[float]]:
    desk = Desk(await open_store(url), DeskLimits(max_tmx_units=10**6, max_tmx_bytes=2**30))
    try:
        await desk.import_memory(memory="drivers", tmx=tmx(sources))
        spent: dict[str, list[float]] = {"SaveTranslation": [], "exact look-up (20 keys)": [], "SearchMemory": []}
        for _ in range(calls):
            started = time.perf_counter()
            await desk.save_translation(memory="drivers", source=rng.choice(sources), translation="again")
            spent["SaveTranslation"].append(time.perf_counter() - started)
            keys = [memory_key(rng.choice(sources)) for _ in range(20)]
            started = time.perf_counter()
            await desk.store.exact_matches("drivers", "ar", "en", keys)
            spent["exact look-up (20 keys)"].append(time.perf_counter() - started)
            started = time.perf_counter()
            await desk.search(memory="drivers", text=near_miss(rng.choice(sources), rng))
            spent["SearchMemory"].append(time.perf_counter() - started)
        return spent
    finally:
        await desk.store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    postgres = importlib.import_module("tests.postgres")
    sources = corpus(args.entries, random.Random(7))
    print("| driver | call | p50 ms | p95 ms |\n|---|---|---|---|")
    with postgres.cluster() as running:
        for number, driver in enumerate(("asyncpg", "psycopg")):
            url = database_url(running.url("postgres").replace("postgresql://", f"postgresql+{driver}://"), Path("."))
            assert url is not None
            spent = asyncio.run(measure(url, sources, args.calls, random.Random(number)))
            for call, seconds in spent.items():
                print(f"| {driver} | {call} | {percentile(seconds, 0.5) * 1000:.2f} | "
                      f"{percentile(seconds, 0.95) * 1000:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
