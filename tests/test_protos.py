"""The committed stubs must match proto/ (regenerate: python scripts/generate_protos.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_generated_stubs_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_protos.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_proto_package_is_versioned() -> None:
    from tarjama_client.v1 import tarjama_pb2

    assert tarjama_pb2.DESCRIPTOR.package == "tarjama.v1"
    assert tarjama_pb2.DESCRIPTOR.name == "tarjama/v1/tarjama.proto"
    service = tarjama_pb2.DESCRIPTOR.services_by_name["TarjamaService"]
    desk = {
        "CreateGlossary", "ListGlossaries", "GetGlossary", "UpdateGlossary", "DeleteGlossary", "SaveTranslation",
        "SearchMemory", "DeleteMemoryEntry", "ListMemories", "ImportMemory", "ExportMemory",
    }  # fmt: skip
    access = {"GetUsage", "ListAudit"}
    assert {m.name for m in service.methods} == {
        "Translate", "StreamTranslate", "Summarize", "ListModels", *desk, *access
    }  # fmt: skip
