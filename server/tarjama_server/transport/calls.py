"""What every transport does around a call, whatever its wire: take or make the request id,
count the calls in flight (and how they end at a graceful stop), and write one access-log
line per call from the core's ``Report``."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from tarjama_client.v1 import tarjama_pb2 as pb

from .. import metrics
from ..core.access import OPEN, Gate, Principal
from ..core.context import CLOCK, Report, RequestContext
from ..core.desk import Desk
from ..core.pipelines import Pipelines
from ..errors import FeatureDisabledError, NotReadyError

REQUEST_ID_KEY = "x-request-id"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/=+-]{1,128}")
# One line per call; never the request's text (see ServerState.finish).
access_log = logging.getLogger("tarjama_server.access")

# Status names as the access log and metrics write them (gRPC's code names, whatever the transport).
OK = "OK"
CANCELLED = "CANCELLED"
# The protocol label of metrics and the access log.
GRPC = "grpc"
HTTP = "http"
# The largest request message either transport reads (a gRPC message, an HTTP body).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


def request_id(sent: Iterable[object]) -> str:
    """The first sane token the caller sent as its request id, else a new one."""
    for value in sent:
        if isinstance(value, str) and _REQUEST_ID.fullmatch(value):
            return value
    return uuid.uuid4().hex


def request_characters(request: object) -> int:
    """The most characters a call can cost its key: the text it sends to a model."""
    if isinstance(request, pb.TranslateRequest):
        return sum(len(text) for text in request.texts)
    if isinstance(request, pb.SummarizeRequest):
        return len(request.text)
    return 0


@dataclass
class Call:
    """One call in flight. ``report``: what it cost, as the core last told (``record``), for
    its access-log line; empty until then (a call refused before it was admitted)."""

    method: str
    request_context: RequestContext
    started: float
    counted: bool  # arrived before the graceful stop began
    protocol: str = GRPC
    report: Report = field(default_factory=Report)
    # Who is calling (their key's name, scopes and limits); OPEN until the key was checked.
    principal: Principal = OPEN

    def record(self, report: Report) -> None:
        """The core's report of the call (its ``ReportSink``), sent once its run ends however it ends."""
        self.report = report


class ServerState:
    """What the transports share: the pipelines (None while the models load), the calls in
    flight, and how those end once a graceful stop begins."""

    def __init__(self) -> None:
        self.pipelines: Pipelines | None = None
        # The desk (glossaries, translation memory): None with --database-url none.
        self.desk: Desk | None = None
        self.in_flight = 0
        self.draining = False
        # Set when a model stopped for good (a hung engine, a dead inference thread): the
        # process is on its way out, so load balancers must stop sending work here.
        self.faulted = False
        self._drain_counts = {"finished": 0, "ok": 0, "cut": 0}
        # The key check of both transports (core.access): the app sets it up with the database.
        self.gate = Gate()

    def authorize(self, call: Call, authorization: object) -> None:
        """The call's key and scope, from the cached key table (no query): raises to refuse."""
        call.principal = self.gate.check(authorization, call.method)

    async def admit(self, call: Call, request: object) -> None:
        """The call's key is under its rate and quota (counted in the database); raises to refuse."""
        await self.gate.admit(call.principal, call.method, request_characters(request))

    def still_valid(self, call: Call) -> None:
        """Raises once the call's key was revoked (a stream checks between events)."""
        self.gate.still_valid(call.principal)

    def require_desk(self) -> Desk:
        if self.desk is None:
            raise FeatureDisabledError(
                "the desk (glossaries, translation memory) is off on this server: it was started with "
                "--database-url none (TARJAMA_DATABASE_URL); start it with a database to use this call"
            )
        return self.desk

    def loaded(self) -> Pipelines:
        if self.pipelines is None:
            raise NotReadyError("models are still loading; retry shortly (health reports SERVING when ready)")
        return self.pipelines

    def start_draining(self) -> int:
        """The server is stopping: count how the calls in flight now end. Returns how many there are."""
        self.draining = True
        self._drain_counts = {"finished": 0, "ok": 0, "cut": 0}
        return self.in_flight

    def drain_outcome(self) -> dict[str, int]:
        return dict(self._drain_counts)

    def begin(self, method: str, context: RequestContext, protocol: str = GRPC) -> Call:
        self.in_flight += 1
        # Calls that arrive while draining are refused by the transport itself.
        return Call(method, context, CLOCK(), counted=not self.draining, protocol=protocol)

    def finish(self, call: Call, status: str) -> None:
        """The call ended with ``status`` (its code name): count it, time it, log it."""
        self.in_flight -= 1
        seconds = CLOCK() - call.started
        if self.draining and call.counted:
            self._drain_counts["cut" if status == CANCELLED else "finished"] += 1
            self._drain_counts["ok"] += status == OK
        metrics.REQUESTS.labels(call.method, status, call.protocol).inc()
        if call.principal.name:  # the key's name, never the key
            metrics.KEY_REQUESTS.labels(call.principal.name, call.method, status).inc()
            characters = call.report.model_characters
            if characters:
                metrics.KEY_CHARACTERS.labels(call.principal.name).inc(characters)
                self.gate.charge_later(call.principal, characters)
        metrics.REQUEST_SECONDS.labels(call.method, call.protocol).observe(seconds)
        report = call.report
        fields = {
            "method": call.method,
            "protocol": call.protocol,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "texts": report.texts,
            "segments": report.segments,
            "input_tokens": report.usage.input_tokens,
            "output_tokens": report.usage.output_tokens,
            "queue_wait_ms": round(report.timings.queue_seconds * 1000, 1),
            "estimate_ms": round(report.timings.estimated_seconds * 1000, 1),
            "request_id": call.request_context.request_id,
            "key": call.principal.name,
        }
        access_log.info(" ".join(f"{key}={value}" for key, value in fields.items()), extra={"fields": fields})
