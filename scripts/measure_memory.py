"""Measure the server's memory (RSS) with full-size models, without the model hub.

Builds random-weight models with the exact architectures of the defaults,
saved with ``save_pretrained``:

* opus-mt-ar-en (MarianMT): d_model 512, 6+6 layers, 8 heads, FFN 2048, vocab 62834;
* mT5_multilingual_XLSum (mT5-base): d_model 768, 12+12 layers, 12 heads, d_ff 2048,
  gated-gelu, vocab 250112, an output layer of its own (not tied to the embeddings);

with tokenizers trained on the seed text (as for the tests' tiny models), starts
``tarjama-server`` on them, and reads ``/proc/PID/status``: VmRSS once the models
are loaded, then VmHWM (peak RSS) after translating and summarizing the seed
article, with RssFile (weights memory-mapped from safetensors files, counted once
touched) and RssAnon (everything else). Weights are float32, as the server loads them. Random weights decode to
the token caps, so the workload is a worst case for activations, not a latency
figure. Linux only.

    python scripts/measure_memory.py [--work-dir /tmp/tarjama-fullsize] [--torch-threads 1]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED_SOURCE = ROOT / "seeds/000_72c42d5ea82af53c.txt"
SEED_TARGET = ROOT / "seeds/000_72c42d5ea82af53c.reference.en.txt"


def build_fullsize(work_dir: Path) -> tuple[Path, Path]:
    """The exact architectures through the same builders as the tests' tiny models
    (``tiny_models``), with random weights as they come: outputs run to the token caps."""
    from tarjama_server.loading.tiny_models import MT5_BASE, OPUS_MT_AR_EN, build_tiny_marian, build_tiny_mt5

    marian_dir, mt5_dir = work_dir / "opus-mt-ar-en-random", work_dir / "mt5-base-random"
    source, target = SEED_SOURCE.read_text(encoding="utf-8"), SEED_TARGET.read_text(encoding="utf-8")
    if not (marian_dir / "model.safetensors").is_file():
        build_tiny_marian(marian_dir, source, target, stop="unbiased", architecture=OPUS_MT_AR_EN)
    if not (mt5_dir / "model.safetensors").is_file():
        build_tiny_mt5(mt5_dir, source + "\n" + target, stop="unbiased", architecture=MT5_BASE)
    return marian_dir, mt5_dir


def memory_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            fields[name] = int(value.split()[0])
    return fields


def describe(fields: dict[str, int]) -> str:
    return ", ".join(f"{name} {value / 1024:.0f} MiB" for name, value in fields.items())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/tarjama-fullsize"))
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument(
        "--engine", default="transformers", help="the server's engine (the Sizing table measured transformers)"
    )
    args = parser.parse_args()

    from tarjama_client import TarjamaClient

    started = time.monotonic()
    marian_dir, mt5_dir = build_fullsize(args.work_dir)
    for directory in (marian_dir, mt5_dir):
        size = (directory / "model.safetensors").stat().st_size
        print(f"{directory.name}: model.safetensors {size / 2**20:.0f} MiB")
    print(f"models ready in {time.monotonic() - started:.0f} s")
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("tarjama-server")),
        f"--port={port}",
        "--metrics-port=0",
        f"--translation-model={marian_dir}",
        f"--summarization-model={mt5_dir}",
        "--offline",
        "--device=cpu",
        f"--torch-threads={args.torch_threads}",
        f"--translation-engine={args.engine}",
        f"--summarization-engine={args.engine}",
        "--log-level=WARNING",
    ]
    server = subprocess.Popen(command)
    try:
        with TarjamaClient(f"127.0.0.1:{port}", timeout=3600) as client:
            client.wait_until_ready(timeout=1800)
            loaded = memory_kib(server.pid)
            print(f"after loading: {describe(loaded)}")
            article = SEED_SOURCE.read_text(encoding="utf-8")
            result = client.translate(article, source_language="ar")
            segments = len(result.translations[0].segments)
            after_translate = memory_kib(server.pid)
            print(f"after translating the seed article ({segments} segments): {describe(after_translate)}")
            client.summarize(article, source_language="ar", summary_language="en")
            after_summarize = memory_kib(server.pid)
            print(f"after summarizing it into English: {describe(after_summarize)}")
    finally:
        server.terminate()
        server.wait(timeout=60)
    print(f"total {time.monotonic() - started:.0f} s, torch threads {args.torch_threads}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
