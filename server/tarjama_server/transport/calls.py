"""What every transport does around a call, whatever its wire: take or make the request id,
count the calls in flight (and how they end at a graceful stop), and write one access-log
line per call from the core's ``Report``."""

from __future__ import annotations

import hmac
import logging
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from .. import metrics
from ..core.context import CLOCK, Report, RequestContext
from ..core.pipelines import Pipelines
from ..errors import NotReadyError

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


def token_matches(sent: object, token: str) -> bool:
    """Whether ``sent`` (the caller's ``authorization``) is ``Bearer <token>``, compared in constant time."""
    return isinstance(sent, str) and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())


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

    def record(self, report: Report) -> None:
        """The core's report of the call (its ``ReportSink``), sent once its run ends however it ends."""
        self.report = report


class ServerState:
    """What the transports share: the pipelines (None while the models load), the calls in
    flight, and how those end once a graceful stop begins."""

    def __init__(self) -> None:
        self.pipelines: Pipelines | None = None
        self.in_flight = 0
        self.draining = False
        # Set when a model stopped for good (a hung engine, a dead inference thread): the
        # process is on its way out, so load balancers must stop sending work here.
        self.faulted = False
        self._drain_counts = {"finished": 0, "ok": 0, "cut": 0}

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
        }
        access_log.info(" ".join(f"{key}={value}" for key, value in fields.items()), extra={"fields": fields})
