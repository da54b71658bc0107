"""Model workers: how many batches run at once on this server's cores.

``WorkerSlots`` is N places for a batch in flight, shared by the schedulers whose models
run on the same cores (translation and summarization), with an executor of N threads
behind it: a scheduler takes a slot before it forms a batch, so each batch is chosen when
a worker is free to run it, and at most N batches (of either model) run at once. N is the
engine's ``ModelInfo.workers``: CTranslate2 runs that many batches in parallel
(``inter_threads``), each on ``cores / N`` threads. The slots carry the one record of the
admission ledgers on these workers (``shared_work``): each scheduler built on them joins it,
so each model's admission counts the other's queued work as ahead.
"""

from __future__ import annotations

import asyncio

from .admission import SharedWork


class WorkerSlots:
    def __init__(self, size: int = 1) -> None:
        if size < 1:
            raise ValueError("a model needs at least one worker")
        self.size = size
        self._free = list(range(size))
        self._available = asyncio.Semaphore(size)
        self.shared_work = SharedWork()

    @property
    def free(self) -> int:
        """Workers idle right now."""
        return len(self._free)

    async def acquire(self) -> int:
        """Wait for an idle worker; returns its index (0 .. size - 1), to ``release`` after its batch."""
        await self._available.acquire()
        return self._free.pop(0)

    def release(self, index: int) -> None:
        self._free.append(index)
        self._available.release()
