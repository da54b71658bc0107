"""What the image relies on, checked without a Docker engine: the HEALTHCHECK script
(follows TARJAMA_PORT, speaks TLS when the server does), a clean exit on SIGTERM, and the
Dockerfile's model steps (download, convert, verify), run here on tiny local models."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

from tarjama_client import TarjamaClient

from .helpers import ServerThread, make_certificate, tiny_settings

ROOT = Path(__file__).resolve().parents[1]
HEALTHCHECK = ROOT / "scripts" / "healthcheck.sh"
VENV_BIN = Path(sys.executable).parent


def healthcheck(**env: str) -> subprocess.CompletedProcess[str]:
    # Only what the image sets: the venv on PATH plus the given TARJAMA_* / HEALTHCHECK_* variables.
    environment = {"PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", "HOME": os.environ.get("HOME", "/tmp"), **env}
    return subprocess.run(["sh", str(HEALTHCHECK)], env=environment, capture_output=True, text=True, timeout=120)


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_healthcheck_follows_the_configured_port(models_dir) -> None:
    with ServerThread(tiny_settings(models_dir, summarization_model="none")).start() as running:
        answered = healthcheck(TARJAMA_PORT=str(running.port))
        assert answered.returncode == 0, answered.stderr
        assert answered.stdout.strip() == "SERVING"
        assert healthcheck(TARJAMA_PORT=str(unused_port())).returncode == 1


def test_healthcheck_speaks_tls(models_dir, tmp_path) -> None:
    # A certificate for a service name, not for localhost, as in production.
    key, cert = make_certificate(tmp_path, "tarjama.example", "DNS:tarjama.example")
    settings = tiny_settings(models_dir, summarization_model="none", tls_cert=str(cert), tls_key=str(key))
    with ServerThread(settings).start() as running:
        tls = {"TARJAMA_PORT": str(running.port), "TARJAMA_TLS_CERT": str(cert)}
        assert healthcheck(**tls).returncode == 1  # the certificate does not name localhost
        answered = healthcheck(**tls, HEALTHCHECK_SERVER_NAME="tarjama.example")
        assert answered.returncode == 0, answered.stderr
        assert answered.stdout.strip() == "SERVING"
        assert healthcheck(TARJAMA_PORT=str(running.port)).returncode == 1  # plaintext to a TLS port


def stage_run(stage: str) -> str:
    """The RUN command of a Dockerfile stage, as the shell gets it."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    body = text[text.index(f" AS {stage}\n") :]
    body = body[: body.find("\nFROM ")] if "\nFROM " in body else body
    (command,) = [line[4:] for line in body.splitlines() if line.startswith("RUN ")]
    return re.sub(r"^(--\S+\s+)+", "", command)  # RUN's own flags (--mount=...) are not the shell's


def test_the_images_model_steps_bake_convert_and_verify(models_dir, tmp_path) -> None:
    baked = tmp_path / "opt-tarjama-models"
    env = {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "HF_HOME": str(tmp_path / "hf-home"),
        "TRANSLATION_MODEL": str(models_dir / "marian-ar-en"),
        "TRANSLATION_REVISION": "main",
        "SUMMARIZATION_MODEL": str(models_dir / "mt5-summarizer"),
        "SUMMARIZATION_REVISION": "main",
        "CTRANSLATE2_CONVERT": "1",
    }

    def run(stage: str, **extra: str) -> subprocess.CompletedProcess[str]:
        command = stage_run(stage).replace("/opt/tarjama/models", str(baked))
        return subprocess.run(
            ["bash", "-o", "pipefail", "-c", command], env={**env, **extra}, capture_output=True, text=True, timeout=600
        )

    baking = run("models")
    assert baking.returncode == 0, baking.stderr[-2000:]
    converted = sorted(path.parent.relative_to(baked) for path in baked.glob("ctranslate2/**/int8/model.bin"))
    assert len(converted) == 2, converted
    runtime = {f"TARJAMA_{name}": env[name] for name in ("TRANSLATION_MODEL", "TRANSLATION_REVISION")}
    runtime |= {f"TARJAMA_{name}": env[name] for name in ("SUMMARIZATION_MODEL", "SUMMARIZATION_REVISION")}
    verifying = run("with-models", HF_HUB_OFFLINE="1", TARJAMA_CACHE_DIR=str(baked / "hub"), **runtime)
    assert verifying.returncode == 0, verifying.stderr[-2000:]

    # The server's ctranslate2 engine finds the baked conversion and converts nothing more.
    before = sorted(baked.rglob("*"))
    settings = tiny_settings(
        models_dir,
        summarization_model="none",
        translation_engine="ctranslate2",
        ctranslate2_dir=str(baked / "ctranslate2"),
    )
    with ServerThread(settings).start() as running, TarjamaClient(running.address, timeout=60) as client:
        assert client.translate("حلب.").translations[0].segments
        assert "ctranslate2" in client.list_models()[0].engine.lower()
    assert sorted(baked.rglob("*")) == before
