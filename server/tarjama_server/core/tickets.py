"""The scheduler's records: a ``Ticket`` per admitted request and a ``Job`` per model input.

They hold state only. Admission (``admission``) writes a ticket's estimates, the batch
policy (``batch_policy``) reads tickets to choose a batch, the scheduler (``scheduler``)
queues and withdraws jobs, and the model worker (``model_worker``) resolves them. A ticket
refers to nothing but its own jobs.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..engines.base import Generation, GenerationParams
from .context import Timings


@dataclass(order=True)
class Job:
    """One model input of a request; ordered by its place within the request."""

    order: int
    text: str = field(compare=False)
    params: GenerationParams = field(compare=False)
    input_tokens: int = field(compare=False)
    future: asyncio.Future[Generation] = field(compare=False)
    # The request it belongs to: the worker credits the work done to it.
    ticket: Ticket = field(compare=False, repr=False)


@dataclass(eq=False)
class Ticket:
    """One request's place in line: its deadline, what admission estimated, the work done,
    and its jobs waiting for a batch (in segment order)."""

    seq: int  # arrival order
    created: float  # on the core's clock, at admission
    deadline: float | None = None
    # Leading jobs that go ahead of other requests' later ones (a streaming request's first segments).
    early: int = 0
    # Admitted without the capacity check: work that belongs to a request already accepted.
    forced: bool = False
    # The text length it was admitted by, before planning (0: admitted on tokens).
    chars: int = 0
    # Whether the capacity check was made at admission (else it is made once planned).
    checked: bool = True
    input_tokens: int = 0
    estimated_tokens: float = 0.0  # tokens of work (read + written, retries included) expected
    model_seconds: float = 0.0  # the throughput model's finish at admission, before lateness
    model_scale: float = 1.0  # seconds of work per input token the estimates implied then
    estimated_seconds: float = 0.0  # the finish admission promised: work ahead and its own, with lateness
    queue_seconds: float = 0.0  # from admission until its first job went into a batch
    batch_seconds: float = 0.0  # wall time of the batches that carried its jobs
    done_tokens: int = 0
    dispatched: int = 0  # jobs that went into batches
    jobs: list[Job] = field(default_factory=list)
    # Jobs handed to the model worker and not yet resolved (failed too when the ticket is released).
    running: list[Job] = field(default_factory=list)
    closed: bool = False
    # Released by admission's review: the error its jobs fail with (set once, then it leaves the ledger).
    released: Exception | None = None
    next_order: Iterator[int] = field(default_factory=itertools.count, repr=False)  # for jobs queued in order

    @property
    def queued_input_tokens(self) -> int:
        return sum(job.input_tokens for job in self.jobs)

    def timings(self) -> Timings:
        return Timings(
            queue_seconds=self.queue_seconds,
            estimated_seconds=self.estimated_seconds,
            model_seconds=self.batch_seconds,
        )
