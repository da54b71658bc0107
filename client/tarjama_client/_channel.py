"""Channel and call settings shared by the sync and asyncio clients."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

DEFAULT_TARGET = "localhost:50051"
DEFAULT_TIMEOUT = 300.0  # a long article through the summarizer on CPU takes about a minute
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
]


@dataclass(frozen=True)
class ConnectionConfig:
    target: str = DEFAULT_TARGET
    timeout: float = DEFAULT_TIMEOUT
    token: str = ""
    tls: bool = False
    root_certificates: bytes | None = None

    @classmethod
    def create(
        cls,
        target: str = DEFAULT_TARGET,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        token: str = "",
        tls: bool = False,
        ca_file: str | None = None,
    ) -> ConnectionConfig:
        roots = Path(ca_file).read_bytes() if ca_file else None
        return cls(target=target, timeout=timeout, token=token, tls=tls or roots is not None, root_certificates=roots)

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()

    def open_channel(self, api: Any) -> Any:
        """A channel from ``api``: the ``grpc`` module (sync) or ``grpc.aio``; both take the same arguments."""
        if self.tls:
            credentials = grpc.ssl_channel_credentials(root_certificates=self.root_certificates)
            return api.secure_channel(self.target, credentials, options=CHANNEL_OPTIONS)
        return api.insecure_channel(self.target, options=CHANNEL_OPTIONS)
