from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from tarjama_client import TarjamaClient
from tarjama_server.loading.tiny_models import TinyModelPaths, build_tiny_models

from .helpers import SEED_ARTICLE, SEED_REFERENCE, ServerThread, free_port, tiny_settings


@pytest.fixture(scope="session", autouse=True)
def _torch_threads_for_tiny_models() -> None:
    """Engines the tests load directly run with the threads the tiny models want, as test servers do."""
    import torch
    from tarjama_server.loading.tiny_models import TORCH_THREADS

    torch.set_num_threads(TORCH_THREADS)


@pytest.fixture(scope="session")
def seed_article() -> str:
    return SEED_ARTICLE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> TinyModelPaths:
    """Tiny untrained Marian and mT5 models, built once per test run."""
    return build_tiny_models(
        tmp_path_factory.mktemp("models"),
        SEED_ARTICLE.read_text(encoding="utf-8"),
        SEED_REFERENCE.read_text(encoding="utf-8"),
    )


@pytest.fixture(scope="session")
def synthetic_marian() -> Path:
    """The tiny Marian trained on the synthetic language pair (loading/synthetic.py): built once
    (seconds), then kept under .tiny-models/ across test runs, keyed by its recipe."""
    from tarjama_server.loading.synthetic import cached_synthetic_marian

    return cached_synthetic_marian(Path(__file__).resolve().parents[1] / ".tiny-models")


@pytest.fixture(scope="session")
def models_dir(tiny_models: TinyModelPaths) -> Path:
    return tiny_models.translation.parent


@pytest.fixture(scope="session")
def server(models_dir: Path) -> Iterator[ServerThread]:
    running = ServerThread(tiny_settings(models_dir)).start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def http_server(models_dir: Path) -> Iterator[ServerThread]:
    """A server with its HTTP port on: the JSON API and the page (tests/test_http.py, tests/test_page.py)."""
    running = ServerThread(tiny_settings(models_dir, http_port=free_port())).start()
    yield running
    running.stop()


@pytest.fixture
def client(server: ServerThread) -> Iterator[TarjamaClient]:
    with TarjamaClient(server.address, timeout=120) as connected:
        yield connected


@pytest.fixture(scope="session")
def looping_marian(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Marian without the end-of-sequence bias: it never stops on its own, as an
    untrained model does, so tests of the length cap see every output run to the cap."""
    from tarjama_server.loading.tiny_models import build_tiny_marian

    return build_tiny_marian(
        tmp_path_factory.mktemp("looping") / "marian-ar-en",
        SEED_ARTICLE.read_text(encoding="utf-8"),
        SEED_REFERENCE.read_text(encoding="utf-8"),
        stop="unbiased",
    )


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[object]:
    """A throwaway PostgreSQL cluster for the session (tests/postgres.py), or the test skips with the reason."""
    from . import postgres

    reason = postgres.unavailable_reason()
    if reason:
        pytest.skip(reason)
    with postgres.cluster() as running:
        yield running


@pytest_asyncio.fixture(params=["sqlite", "postgresql"], loop_scope="function")
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty desk database for one test: a new SQLite file, or the session's PostgreSQL
    database with the desk's tables emptied (one database a session: creating one per test
    cost a second each)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'desk.db'}"
    import asyncpg

    cluster = request.getfixturevalue("postgres_cluster")
    connection = await asyncpg.connect(cluster.url(), timeout=30)
    try:
        if await connection.fetchval("SELECT to_regclass('memory_entries') IS NOT NULL"):
            await connection.execute(
                "TRUNCATE glossaries, glossary_entries, memory_entries, audit_log, api_keys, key_usage "
                "RESTART IDENTITY CASCADE"
            )
    finally:
        await connection.close()
    return str(cluster.url())
