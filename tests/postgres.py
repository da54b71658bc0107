"""A throwaway PostgreSQL cluster for the store's tests: Debian's ``postgresql`` binaries,
``initdb`` into a temporary directory, run as the ``postgres`` user when the tests run as root
(PostgreSQL refuses to run as root), on a free loopback port. ``.ci/run`` (via scripts/test.sh)
installs the package; without it the PostgreSQL tests skip, saying so.

``TARJAMA_TEST_POSTGRES_URL`` (a ``postgresql://`` URL of a server whose user may create
databases) uses that server instead of starting one.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .helpers import free_port

ENV_URL = "TARJAMA_TEST_POSTGRES_URL"


def _binaries() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def unavailable_reason() -> str:
    """Why no cluster can be started here ("" when one can)."""
    if os.environ.get(ENV_URL):
        return ""
    if _binaries() is None:
        return "PostgreSQL is not installed (apt-get install postgresql; scripts/test.sh does as root)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a 'postgres' user to run PostgreSQL as"
    return ""


@dataclass
class Cluster:
    """A running cluster: ``url`` (no database) for ``postgresql+asyncpg://``."""

    host: str
    port: int
    user: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"


@contextlib.contextmanager
def cluster() -> Iterator[Cluster]:
    """A cluster for the duration of the block (or the one ``TARJAMA_TEST_POSTGRES_URL`` names)."""
    given = os.environ.get(ENV_URL)
    if given:
        from sqlalchemy.engine import make_url

        url = make_url(given)
        yield Cluster(url.host or "127.0.0.1", url.port or 5432, url.username or "postgres")
        return
    binaries = _binaries()
    assert binaries is not None, unavailable_reason()
    as_root = os.geteuid() == 0
    user = "postgres" if as_root else pwd.getpwuid(os.geteuid()).pw_name
    runner = ["runuser", "-u", "postgres", "--"] if as_root else []
    directory = Path(tempfile.mkdtemp(prefix="tarjama-postgres-"))
    data = directory / "data"
    if as_root:
        shutil.chown(directory, "postgres")
    port = free_port()
    try:
        subprocess.run(
            [*runner, str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", user, "-E", "UTF8", "--no-sync"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        subprocess.run(
            [*runner, str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(directory / "log"), "-w",
             "-t", "120", "start"],
            check=True,
            capture_output=True,
            timeout=150,
        )  # fmt: skip
        try:
            yield Cluster("127.0.0.1", port, user)
        finally:
            subprocess.run(
                [*runner, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "-t", "60", "stop"],
                capture_output=True,
                timeout=90,
            )
    finally:
        shutil.rmtree(directory, ignore_errors=True)
