"""Bounds on the HTTP port's connections, which uvicorn does not set: a deadline for each
request's headers, and a most number of open connections.

uvicorn 0.55 times out only an idle keep-alive connection after a response, and only until
its first byte arrives: a connection that sends nothing after connecting, or a header a byte
at a time, is held forever. Its ``limit_concurrency`` counts those idle connections too and
answers a real call 503 once they fill it. So the HTTP transport runs this subclass of
uvicorn's h11 protocol instead:

- from the moment a connection opens, and again after each response, the next request's
  headers must have arrived within ``header_timeout`` seconds, however slowly they trickle;
  else the connection is closed;
- past ``max_connections`` open connections, a new one closes the connection that has waited
  longest for a request (idle, or still sending headers): a flood of idle connections costs
  the flood its oldest members, not a real caller its call. Only when every connection has a
  call in flight does the new one get a 503 and close.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

# What a connection over the bound is answered (every connection busy with a call), then closed.
_FULL = json.dumps(
    {
        "code": "unavailable",
        "message": "this server has as many HTTP connections as it keeps (--http-max-connections), all with calls "
        "in flight: retry shortly, or use another replica",
    }
).encode()


async def refuse_full(scope: Any, receive: Any, send: Any) -> None:
    """The ASGI app of a connection over the bound: 503, a Connect ``unavailable`` body, and close.
    (Its request is read first, so the client reads the answer rather than a reset.)"""
    headers = [
        (b"content-type", b"application/json"),
        (b"retry-after", b"1"),
        (b"connection", b"close"),
        (b"content-length", str(len(_FULL)).encode()),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": _FULL})


@dataclass(frozen=True)
class ConnectionBounds:
    """``header_timeout``: seconds for a request's headers (0: none); ``max_connections``: most open (0: none)."""

    header_timeout: float = 10.0
    max_connections: int = 2000


def protocol_for(bounds: ConnectionBounds) -> type[H11Protocol]:
    """uvicorn's ``http`` protocol class, bounded by ``bounds``."""
    return type("BoundedH11Protocol", (BoundedH11Protocol,), {"bounds": bounds})


def raise_file_limit(connections: int) -> None:
    """Let the process open ``connections`` sockets beside its own files (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + 512  # model files, gRPC's connections, the metrics port
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
        if raised < wanted:
            log.warning(
                "open files limited to %d (ulimit -n): lower --http-max-connections below %d", raised, raised - 512
            )


class BoundedH11Protocol(H11Protocol):
    bounds = ConnectionBounds()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self.waiting_since: float | None = None  # waiting for a request's headers since (loop time)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()
        limit = self.bounds.max_connections
        if limit and len(self.connections) > limit:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.waiting_since is not None and self.conn.their_state is not h11.IDLE:  # the headers are in
            self.waiting_since = None
            self._stop_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:  # (not a pipelined request)
            self._await_headers()

    def _await_headers(self) -> None:
        self.waiting_since = self.loop.time()
        self._stop_header_timer()
        if self.bounds.header_timeout:
            self._header_timer = self.loop.call_later(self.bounds.header_timeout, self._headers_late)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.waiting_since is not None:
            self.close_waiting()

    def close_waiting(self) -> None:
        """Close this connection, which has no call in flight."""
        self.waiting_since = None
        self.connections.discard(self)  # no longer counted, though the socket closes on the next turn of the loop
        if not self.transport.is_closing():
            self.transport.close()

    def _make_room(self) -> None:
        """Over the bound: close the connection waiting longest for a request, else answer this one 503."""
        waiting = [c for c in self.connections if isinstance(c, BoundedH11Protocol) and c.waiting_since is not None]
        oldest = min((c for c in waiting if c is not self), key=lambda c: c.waiting_since or 0.0, default=None)
        if oldest is not None:
            oldest.close_waiting()
            return
        self.app = refuse_full  # this connection only; its headers still have the header timeout
