"""A real server on a free loopback port, in a background thread with its own event loop."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tarjama_server.app import TarjamaServer
from tarjama_server.core.scheduler import Scheduler
from tarjama_server.core.tickets import Ticket
from tarjama_server.engines.base import Generation, GenerationParams, Seq2SeqEngine
from tarjama_server.loading.loader import load_engines
from tarjama_server.loading.tiny_models import TORCH_THREADS
from tarjama_server.settings import Settings

# The longest any test waits for an event before it fails: generous, so a busy machine is not a failure.
WAIT_SECONDS = 60.0

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
SEED_ARTICLE = SEEDS / "000_72c42d5ea82af53c.txt"
SEED_REFERENCE = SEEDS / "000_72c42d5ea82af53c.reference.en.txt"


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT_SECONDS) -> None:
    """Poll ``condition`` until it holds; fail the test, saying ``what`` never happened, after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} (waited {timeout:.0f} s)"
        time.sleep(0.01)


async def wait_for_async(condition: Callable[[], bool], what: str, timeout: float = WAIT_SECONDS) -> None:
    """``wait_for`` on an event loop: the loop keeps running while it waits."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} (waited {timeout:.0f} s)"
        await asyncio.sleep(0.01)


def join(thread: threading.Thread, timeout: float = WAIT_SECONDS) -> None:
    """Join ``thread`` and fail the test if it has not ended within ``timeout``."""
    thread.join(timeout)
    assert not thread.is_alive(), f"thread {thread.name} did not end within {timeout:.0f} s"


def free_port() -> int:
    """A loopback port free now (for HTTP, where port 0 means disabled)."""
    import socket

    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


def tiny_settings(models_dir: Path, **overrides: object) -> Settings:
    base = Settings(
        host="127.0.0.1",
        port=0,
        http_port=0,  # tests of HTTP pass a free port (tests/test_http.py)
        metrics_port=0,
        translation_model=str(models_dir / "marian-ar-en"),
        summarization_model=str(models_dir / "mt5-summarizer"),
        offline=True,
        device="cpu",
        num_beams=2,
        summary_num_beams=2,
        torch_threads=TORCH_THREADS,
        shutdown_grace_seconds=1.0,
        # Conversions for the ctranslate2 engine (the default where installed) beside the tiny models.
        ctranslate2_dir=str(models_dir / "ctranslate2"),
        # No start-up calibration batch: test servers start often, and admission tests set their own rate.
        assumed_tokens_per_second=1000.0,
        # No result cache: tests send the seed article again and again and count the model's work;
        # the cache's own tests (test_trust.py) turn it on.
        cache_bytes=0,
        # No desk: its tests (test_desk.py) give each server its own database.
        database_url="none",
    )
    return dataclasses.replace(base, **overrides)


class GatedEngine:
    """A real engine whose ``generate`` waits for ``gate``: tests make a batch slow
    deterministically (deadlines, graceful stop) instead of hoping the machine is slow."""

    def __init__(self, engine: Seq2SeqEngine) -> None:
        self.engine = engine
        self.info = engine.info
        self.gate = threading.Event()
        self.started = threading.Event()  # set when a batch is waiting at the gate
        self.batches: list[list[str]] = []

    def count_tokens(self, text: str) -> int:
        return self.engine.count_tokens(text)

    def generate(self, texts: Sequence[str], params: GenerationParams) -> list[Generation]:
        self.started.set()
        if not self.gate.wait(120):
            raise TimeoutError("the test never opened the gate")
        self.batches.append(list(texts))
        return self.engine.generate(texts, params)


def admit(
    scheduler: Scheduler, input_tokens: int, *, deadline: float | None = None, early: int = 0, force: bool = False
) -> Ticket:
    """Admit a request of ``input_tokens`` as a pipeline does: reserved on its length (a
    character a token), then settled on its tokens once planned."""
    ticket = scheduler.reserve(chars=input_tokens, deadline=deadline, early=early, force=force)
    scheduler.settle(ticket, input_tokens=input_tokens)
    return ticket


def queue_request(
    scheduler: Scheduler,
    texts: Sequence[str],
    params: GenerationParams,
    *,
    deadline: float | None = None,
    early: int = 0,
    force: bool = False,
) -> tuple[Ticket, list[asyncio.Future[Generation]]]:
    """Admit a request of ``texts`` (a token each) and queue them as its jobs."""
    ticket = admit(scheduler, len(texts), deadline=deadline, early=early, force=force)
    return ticket, scheduler.submit(ticket, texts, params)


def wrapping_loader(wrap: Callable[[Any], Any], engines: list[Any]) -> Callable[[Settings], tuple[Any, Any]]:
    """An engine loader for ``ServerThread`` that wraps the translation engine with ``wrap``
    and appends the wrapper to ``engines``, for the test to reach."""

    def load(settings: Settings) -> tuple[Any, Any]:
        translation, summarization = load_engines(settings)
        engines.append(wrap(translation))
        return engines[-1], summarization

    return load


def gated_loader(engines: list[GatedEngine]) -> Callable[[Settings], tuple[Any, Any]]:
    """A loader whose translation engine is a ``GatedEngine`` (appended to ``engines``)."""
    return wrapping_loader(GatedEngine, engines)


def make_certificate(directory: Path, name: str, alt_names: str) -> tuple[Path, Path]:
    """(key, certificate) files of a self-signed certificate for ``name``; skips without openssl."""
    import shutil
    import subprocess

    import pytest

    if not shutil.which("openssl"):
        pytest.skip("openssl not installed: cannot make a test certificate")
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name}",
         "-addext", f"subjectAltName={alt_names}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return key, cert


class ServerThread:
    def __init__(self, settings: Settings, engine_loader: Callable[[Settings], Any] | None = None) -> None:
        self.settings = settings
        self._engine_loader = engine_loader
        self.server: TarjamaServer | None = None
        self.port = 0
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._listening = threading.Event()
        self.stopping = threading.Event()  # set as the graceful stop begins
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="tarjama-test-server", daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def http_url(self) -> str:
        assert self.server is not None and self.server.http is not None, "started without --http-port"
        return self.server.http_url

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            self.server = TarjamaServer(self.settings, self._engine_loader or load_engines)
            self.port = await self.server.start()
            self._listening.set()
            await self.server.load_models()
        except BaseException as error:  # surfaced to the test by start()
            self.error = error
            self._listening.set()
            self._ready.set()
            return
        self._ready.set()
        await self._stop.wait()
        self.stopping.set()
        await self.server.stop()  # grace: settings.shutdown_grace_seconds

    def start(self, timeout: float = 120.0, wait_for_models: bool = True) -> ServerThread:
        self._thread.start()
        if not (self._ready if wait_for_models else self._listening).wait(timeout):
            raise TimeoutError("test server did not start")
        if self.error:
            raise RuntimeError("test server failed to start") from self.error
        return self

    def __enter__(self) -> ServerThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._loop and self._stop and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread.ident is not None:  # started
            join(self._thread)
