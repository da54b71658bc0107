"""What the sync and asyncio clients share (httpx's ``BaseClient``): the settings, the channel
and stubs and how each call's attempts are decided
(``_retry.Attempts``). The clients add only the I/O and the waiting."""

from __future__ import annotations

from typing import Any, TypeVar

from grpc_health.v1 import health_pb2_grpc

from ._channel import DEFAULT_TARGET, DEFAULT_TIMEOUT, ConnectionConfig
from ._retry import AttemptObserver, Attempts, Readiness, RetryPolicy
from .v1 import tarjama_pb2_grpc as pb_grpc

_Client = TypeVar("_Client", bound="ClientBase")


class ClientBase:
    """The constructor the sync and asyncio clients share: settings, channel and stubs.
    ``_grpc_api`` is the ``grpc`` module or ``grpc.aio``; both take the same arguments."""

    _grpc_api: Any

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        token: str = "",
        tls: bool = False,
        ca_file: str | None = None,
        load_balancing: str = "",
        tls_server_name: str = "",
        retry: RetryPolicy | None = None,
    ) -> None:
        """``load_balancing``: "round_robin" spreads calls over every address the target
        resolves to (default for ``dns:///`` targets, e.g. a headless Kubernetes Service);
        "pick_first" uses one connection (default for ``host:port``). ``retry``: how
        UNAVAILABLE and RESOURCE_EXHAUSTED are retried inside each call's timeout
        (default ``RetryPolicy()``; ``RetryPolicy.disabled()`` for none)."""
        self.config = ConnectionConfig.create(
            target,
            timeout=timeout,
            token=token,
            tls=tls,
            ca_file=ca_file,
            load_balancing=load_balancing,
            tls_server_name=tls_server_name,
            retry=retry,
        )
        self._connect()

    @classmethod
    def from_config(cls: type[_Client], config: ConnectionConfig) -> _Client:
        """A client with the settings of another (``client.config``), on a channel of its own."""
        client = cls.__new__(cls)
        client.config = config
        client._connect()
        return client

    def _connect(self) -> None:
        self._channel = self.config.open_channel(self._grpc_api)
        self._stub = pb_grpc.TarjamaServiceStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    def _attempts(self, timeout: float | None, now: float, on_attempt: AttemptObserver | None) -> Attempts:
        """A call's attempts: within ``timeout`` (the client's when None), by the client's retry policy."""
        return Attempts(self.config.retry, timeout or self.config.timeout, now, on_attempt)

    def _readiness(self, timeout: float, now: float) -> Readiness:
        return Readiness(self.config.target, timeout, now)
