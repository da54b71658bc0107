"""Where and how to connect: the settings the sync and asyncio clients share, and their channel."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from ._retry import RetryPolicy

DEFAULT_PORT = 50051
DEFAULT_TARGET = f"localhost:{DEFAULT_PORT}"
DEFAULT_TIMEOUT = 300.0  # a long article through the summarizer on CPU takes about a minute
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
]
LOAD_BALANCING_POLICIES = ("pick_first", "round_robin")
# Schemes whose resolver can return several addresses (a headless Kubernetes Service
# behind dns:///, or an ipv4:a,b list). Naming one means "spread the calls", and gRPC
# keeps connections open, so without round_robin every call would go to one address.
_MULTI_ADDRESS_SCHEMES = ("dns:", "ipv4:", "ipv6:")


def default_load_balancing(target: str) -> str:
    return "round_robin" if target.startswith(_MULTI_ADDRESS_SCHEMES) else "pick_first"


def normalize_target(target: str) -> str:
    """``host`` → ``host:50051``; ``host:port`` checked before any dialling. gRPC's own
    target forms (``dns:///…``, ``ipv4:…``, ``unix:…``) pass through unchanged.

    Without this, gRPC reads ``localhost`` as port 443 and wraps ``:503000`` to another port."""
    target = target.strip()
    if not target:
        raise ValueError("the server address is empty: use host:port, e.g. localhost:50051")
    if re.match(r"^(dns|ipv4|ipv6|unix|unix-abstract|vsock|xds)://?", target) or target.startswith(("ipv4:", "ipv6:")):
        return target
    match = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[^:\[\]\s/]+)(?::(\d*))?", target)
    if not match:
        raise ValueError(f"{target!r} is not a server address: use host:port, e.g. localhost:50051 or [::1]:50051")
    host, port = match.group(1), match.group(2)
    if port is None:
        return f"{host}:{DEFAULT_PORT}"
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{target!r} has no valid port: it must be a number from 1 to 65535")
    return target


@dataclass(frozen=True)
class ConnectionConfig:
    target: str = DEFAULT_TARGET
    timeout: float = DEFAULT_TIMEOUT
    token: str = ""
    tls: bool = False
    root_certificates: bytes | None = None
    load_balancing: str = "pick_first"
    tls_server_name: str = ""
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def create(
        cls,
        target: str = DEFAULT_TARGET,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        token: str = "",
        tls: bool = False,
        ca_file: str | None = None,
        load_balancing: str = "",
        tls_server_name: str = "",
        retry: RetryPolicy | None = None,
    ) -> ConnectionConfig:
        """``load_balancing``: "pick_first", "round_robin", or "" for round_robin on
        ``dns:``/``ipv4:``/``ipv6:`` targets and pick_first otherwise. ``tls_server_name``:
        the name to check the server certificate against, when it differs from the target's host."""
        target = normalize_target(target)
        policy = load_balancing or default_load_balancing(target)
        if policy not in LOAD_BALANCING_POLICIES:
            raise ValueError(f"load_balancing must be one of {', '.join(LOAD_BALANCING_POLICIES)}, not {policy!r}")
        roots = Path(ca_file).read_bytes() if ca_file else None
        return cls(
            target=target,
            timeout=timeout,
            token=token,
            tls=tls or roots is not None or bool(tls_server_name),
            root_certificates=roots,
            load_balancing=policy,
            tls_server_name=tls_server_name,
            retry=retry or RetryPolicy(),
        )

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()

    def service_config(self) -> dict[str, Any]:
        """The gRPC service config the channel starts with."""
        return {"loadBalancingConfig": [{self.load_balancing: {}}]}

    def channel_options(self) -> list[tuple[str, Any]]:
        options = [*CHANNEL_OPTIONS, ("grpc.service_config", json.dumps(self.service_config()))]
        if self.tls_server_name:
            options.append(("grpc.ssl_target_name_override", self.tls_server_name))
        return options

    def open_channel(self, api: Any) -> Any:
        """A channel from ``api``: the ``grpc`` module (sync) or ``grpc.aio``; both take the same arguments."""
        if self.tls:
            credentials = grpc.ssl_channel_credentials(root_certificates=self.root_certificates)
            return api.secure_channel(self.target, credentials, options=self.channel_options())
        return api.insecure_channel(self.target, options=self.channel_options())
