"""Faults a replica cannot recover from on its own: a model call that hangs, the inference
thread dying, SIGTERM while the models load. Each ends in a bounded time with a clear status for
the calls in flight, and with an exit the orchestrator acts on. A batch that raises is retried
job by job (test_scheduler.py)."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from tarjama_client import RetryPolicy, ServerUnavailableError, TarjamaClient, TarjamaError

from .helpers import WAIT_SECONDS, GatedEngine, ServerThread, free_port, gated_loader, tiny_settings, wait_for

ROOT = Path(__file__).resolve().parents[1]

# A server process whose loader never finishes ("loading"), whose engine never answers ("hung"),
# or whose tokenizer never returns on a text holding "STUCK" ("planning": a planning thread stuck).
SERVER = """
import sys, threading
from tarjama_server import app
from tarjama_server.engines.base import Generation, ModelInfo, Task
from tarjama_server.logs import configure_logging
from tarjama_server.settings import load_settings

class Hung:
    info = ModelInfo("hung", Task.TRANSLATION, "local", ("ar",), ("en",), "none", "fake", "cpu", 512)
    def count_tokens(self, text):
        if sys.argv[1] == "planning" and "STUCK" in text:
            print("planning thread stuck in the tokenizer", flush=True)
            threading.Event().wait()  # no cancellation check reaches it
        return len(text.split()) + 1
    def generate(self, texts, params):
        threading.Event().wait()  # never answers

def loader(settings):
    if sys.argv[1] == "loading":
        threading.Event().wait()  # a download that never ends
    return Hung(), None

settings = load_settings(["--port", "0", "--metrics-port", "0", "--summarization-model", "none",
                          "--shutdown-grace-seconds", "1", "--engine-timeout-seconds", "0.5",
                          "--assumed-tokens-per-second", "1000"])
configure_logging("INFO", "text")
app.exit_process(__import__("asyncio").run(app.run(settings, loader)))
"""


class ServerProcess:
    """The server above, its log read line by line as it comes."""

    def __init__(self, mode: str) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "server"), str(ROOT / "client")])}
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER, mode], stderr=subprocess.STDOUT, stdout=subprocess.PIPE, text=True, env=env
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        assert self.process.stdout is not None
        stdout = self.process.stdout
        threading.Thread(target=lambda: [self.lines.put(line) for line in stdout], daemon=True).start()

    def wait_for_line(self, text: str) -> str:
        while True:
            line = self.lines.get(timeout=WAIT_SECONDS)
            self.log.append(line)
            if text in line:
                return line

    def exit_status(self) -> int:
        status = self.process.wait(timeout=WAIT_SECONDS)
        while not self.lines.empty():
            self.log.append(self.lines.get())
        return status

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=WAIT_SECONDS)


def test_sigterm_while_the_models_load_exits_within_the_grace_period_saying_what_was_cut() -> None:
    server = ServerProcess("loading")
    try:
        server.wait_for_line("loading: loading the models")
        server.process.send_signal(signal.SIGTERM)
        assert server.exit_status() == 0
    finally:
        server.kill()
    assert any("stop requested while loading: cut loading the models" in line for line in server.log), server.log


def test_a_hung_engine_fails_calls_in_flight_and_the_process_exits_non_zero() -> None:
    server = ServerProcess("hung")
    try:
        port = re.search(r"listening on [\d.]+:(\d+)", server.wait_for_line("listening on")).group(1)  # type: ignore[union-attr]
        server.wait_for_line("ready: serving")
        with TarjamaClient(f"127.0.0.1:{port}", retry=RetryPolicy.disabled(), timeout=WAIT_SECONDS) as client:
            with pytest.raises(ServerUnavailableError, match="gave no answer"):
                client.translate("حلب تحت سيطرة النظام")
        assert server.exit_status() == 3
    finally:
        server.kill()
    assert any("exit status 3" in line for line in server.log), server.log


def test_sigterm_exits_within_the_grace_period_whatever_a_planning_thread_is_doing() -> None:
    """A planning thread stuck where no cancellation check reaches (here a tokenizer call that
    never returns) must not hold the process: asyncio.run would wait for it forever."""
    server = ServerProcess("planning")
    try:
        port = re.search(r"listening on [\d.]+:(\d+)", server.wait_for_line("listening on")).group(1)  # type: ignore[union-attr]
        server.wait_for_line("ready: serving")

        def call() -> None:
            with TarjamaClient(f"127.0.0.1:{port}", retry=RetryPolicy.disabled(), timeout=WAIT_SECONDS) as client:
                with contextlib.suppress(TarjamaError):
                    client.translate("<p>حلب تحت سيطرة <b>النظام</b> STUCK</p>", mime_type="text/html")

        threading.Thread(target=call, daemon=True).start()
        server.wait_for_line("planning thread stuck in the tokenizer")
        server.process.send_signal(signal.SIGTERM)
        assert server.exit_status() == 0  # within WAIT_SECONDS, not when the thread ends (never)
    finally:
        server.kill()
    assert any("1 cut at the end of the grace period" in line for line in server.log), server.log
    assert any("without waiting for thread" in line for line in server.log), server.log


def test_a_hung_engine_turns_health_not_serving_and_later_calls_unavailable(models_dir) -> None:
    engines: list[GatedEngine] = []
    settings = tiny_settings(models_dir, summarization_model="none", engine_timeout_seconds=0.5, http_port=free_port())
    with ServerThread(settings, gated_loader(engines)).start() as running:
        try:
            with TarjamaClient(running.address, retry=RetryPolicy.disabled(), timeout=WAIT_SECONDS) as client:
                assert client.health() == "SERVING"
                with pytest.raises(ServerUnavailableError, match="gave no answer"):
                    client.translate("حلب تحت سيطرة النظام")
                wait_for(lambda: client.health() == "NOT_SERVING", "health never turned NOT_SERVING")
                with pytest.raises(ServerUnavailableError):
                    client.translate("حلب")
            # HTTP load balancers read /readyz: a faulted server must leave their rotation too.
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(running.http_url + "readyz", timeout=WAIT_SECONDS)
            assert refused.value.code == 503 and b"faulted" in refused.value.read()
            assert running.server is not None and running.server.fault is not None
        finally:
            engines[0].gate.set()  # let the test's inference thread go
