"""Console entry points. ``pip install tarjama`` (the client alone) still puts
``tarjama-server`` and ``tarjama-models`` on PATH; without the server's
dependencies they say, in one line, what to install instead of a traceback."""

from __future__ import annotations

import importlib
import sys
from typing import NoReturn

# Top-level modules the server needs that the client install does not bring.
_SERVER_ONLY = {
    "torch",
    "transformers",
    "sentencepiece",
    "huggingface_hub",
    "grpc_reflection",
    "prometheus_client",
    "sqlalchemy",
    "alembic",
}


def _run(command: str, module: str) -> NoReturn:
    # Heavy imports happen late (inside commands), so the whole run is guarded, not just the import.
    try:
        sys.exit(importlib.import_module(module).main())
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in _SERVER_ONLY:
            raise
        print(
            f"{command}: the server is not installed here (missing {error.name}); "
            "install it with: pip install 'tarjama[server]'",
            file=sys.stderr,
        )
        sys.exit(1)


def server() -> NoReturn:
    _run("tarjama-server", "tarjama_server.app")


def models() -> NoReturn:
    _run("tarjama-models", "tarjama_server.loading.cli")


def keys() -> NoReturn:
    _run("tarjama-keys", "tarjama_server.keys_cli")
