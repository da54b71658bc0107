"""The scheduler's records: a ``Ticket`` per admitted request and a ``Job`` per model input.

They hold state only, and one module writes them: the scheduler (``scheduler``) creates
tickets, queues and withdraws jobs, and applies each batch's outcome (the work done, the
time it took). Admission keeps its own record of a request (``admission.Reservation``);
the batch policy (``batch_policy``) only reads tickets; the model worker
(``model_worker``) only reads jobs and returns what happened (``model_worker.BatchOutcome``).
``tests/test_structure.py`` holds that no other module assigns to a ticket's fields.
A ticket refers to nothing but its own jobs.
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
    # The request it belongs to: the scheduler credits the work done to it.
    ticket: Ticket = field(compare=False, repr=False)


@dataclass(eq=False)
class Ticket:
    """One request's place in line: its deadline, the finish admission promised, the work
    done, and its jobs waiting for a batch (in segment order)."""

    seq: int  # arrival order (admission's reservation has the same)
    created: float  # on the core's clock, at admission
    deadline: float | None = None
    # Leading jobs that go ahead of other requests' later ones (a streaming request's first segments).
    early: int = 0
    estimated_seconds: float = 0.0  # the finish admission promised: work ahead and its own, with lateness
    queue_seconds: float = 0.0  # from admission until its first job went into a batch
    batch_seconds: float = 0.0  # wall time of the batches that carried its jobs
    done_tokens: int = 0
    dispatched: int = 0  # jobs that went into batches
    jobs: list[Job] = field(default_factory=list)
    # Jobs handed to the model worker and not yet resolved (failed too when the ticket is released).
    running: list[Job] = field(default_factory=list)
    closed: bool = False
    # Released by admission's review: the error its jobs fail with (set once, then it leaves the queue).
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
