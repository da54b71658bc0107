"""The OpenAPI document says what the server enforces: schemathesis, a schema fuzzer, runs every
one of its checks against a real server on tiny models, from the document that server serves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from tarjama_server.core.limits import RequestLimits

from .helpers import ServerThread, free_port, tiny_settings

ROOT = Path(__file__).resolve().parents[1]
# Bounded and repeatable: a fixed seed, a few examples per operation, the fuzzing phase (about 20 s
# on tiny models). The coverage phase (every boundary: 200,000-character texts, 64 of them) takes
# minutes on the tiny models: run it by hand with --phases coverage.
SCHEMATHESIS = ["--checks", "all", "--max-examples", "12", "--seed", "22", "--phases", "examples,fuzzing"]


def test_schemathesis_finds_nothing_with_every_check(http_server: ServerThread, tmp_path: Path) -> None:
    st = Path(sys.executable).with_name("st")
    command = [str(st), "--config-file", str(ROOT / "tests" / "schemathesis.toml"), "run"]
    command += [http_server.http_url + "openapi.json", *SCHEMATHESIS, "--workers", "1", "--no-color"]
    command += ["--generation-database", "none", "--request-timeout", "60", "--report-dir", str(tmp_path)]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=600, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    assert result.returncode == 0, result.stdout[-12000:] + result.stderr[-4000:]


def test_the_served_document_carries_the_servers_own_limits(models_dir) -> None:
    settings = tiny_settings(models_dir, summarization_model="none", http_port=free_port(), max_texts=5)
    with ServerThread(settings).start() as running:
        with urllib.request.urlopen(running.http_url + "openapi.json", timeout=60) as reply:
            document = json.load(reply)
    schemas = document["components"]["schemas"]
    texts = schemas["TranslateRequest"]["properties"]["texts"]
    assert schemas["TranslateRequest"]["required"] == ["texts"] and schemas["SummarizeRequest"]["required"] == ["text"]
    assert (texts["minItems"], texts["maxItems"]) == (1, 5)
    limits = RequestLimits()
    assert texts["items"]["maxLength"] == limits.max_text_chars and texts["items"]["minLength"] == 1
    assert schemas["DecodingOptions"]["properties"]["numBeams"]["maximum"] == limits.max_beams
    assert schemas["ServerInfo"]["properties"]["maxRequestChars"]["type"] == "integer"
    assert document["info"]["version"][0].isdigit()  # PEP 440, not "tarjama.v1"
    stream = document["paths"]["/tarjama.v1.TarjamaService/StreamTranslate"]["post"]
    assert list(stream["requestBody"]["content"]) == ["application/connect+json"]
    assert "flags byte" in stream["requestBody"]["description"]


def test_64_bit_integers_come_back_as_json_numbers(http_server: ServerThread) -> None:
    request = urllib.request.Request(
        http_server.http_url + "tarjama.v1.TarjamaService/ListModels",
        data=b"{}",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        server = json.load(reply)["server"]
    assert server["maxRequestChars"] == server["maxTexts"] * server["maxTextChars"]  # 12800000, not "12800000"
    assert isinstance(server["cacheMaxBytes"], int) and isinstance(server["cacheBytes"], int)
