"""The API contract from another language: a Node.js client built only from proto/.
Skips unless node and the interop packages are installed (scripts/test.sh installs them)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from .helpers import SEED_ARTICLE, ServerThread, free_port, tiny_settings

INTEROP = Path(__file__).resolve().parent / "interop"
PROTO = Path(__file__).resolve().parents[1] / "proto"


def test_node_client_from_proto_only(models_dir: Path) -> None:
    node = shutil.which("node")
    if not node or not (INTEROP / "node_modules" / "@grpc" / "grpc-js").is_dir():
        pytest.skip("node or tests/interop/node_modules missing (run: npm ci --prefix tests/interop)")
    # The cache on, as a server runs by default: the article sent twice comes back from it. HTTP on: the JSON API.
    settings = tiny_settings(models_dir, cache_bytes=16 * 1024 * 1024, http_port=free_port())
    with ServerThread(settings).start() as server:
        result = subprocess.run(
            [node, str(INTEROP / "node_client.js"), server.address, str(PROTO), str(SEED_ARTICLE), server.http_url],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["segments"] == 20
    assert report["offsets_match"] and report["text_rebuilds"] and report["passthrough_exact"]
    assert report["detected_language"] == "ar"
    assert report["empty_status"] == "INVALID_ARGUMENT" and "texts is empty" in report["empty_details"]
    assert report["summary_language"] == "ar"
    assert report["tasks"] == ["TASK_TRANSLATION", "TASK_SUMMARIZATION"]
    assert report["stream"] == [[i, 20] for i in range(20)]
    assert report["html_tags_kept"] and report["html_english_kept"]
    assert report["html_segments"] == ["ar", "en", "ar"]  # heading, English paragraph, alt text
    # Trust signals (issue 14): scores on every translated segment, none on a passed-through one;
    # the request id sent, in the body; the article sent again, the same, from the cache.
    assert report["scores_finite"] and report["passthrough_unscored"]
    assert report["request_id_in_body"] and report["timings"]["total_ms"] > 0
    assert report["same_again"] and report["cached_again"]
    assert report["server"]["max_texts"] == 64 and report["server"]["cache_max_bytes"] == 16 * 1024 * 1024
    json_api = report["json"]  # the same service over HTTP/JSON, called with fetch
    assert (json_api["status"], json_api["request_id"], json_api["segments"]) == (200, "node-interop", 20)
    assert json_api["offsets_match"] and json_api["zero_printed"] and json_api["scored"]
    assert json_api["stream"] == [[i, 20] for i in range(20)] and json_api["stream_end"] == "ok"
    assert json_api["empty"] == [400, "invalid_argument"] and json_api["unknown_field"] == [400, "invalid_argument"]
