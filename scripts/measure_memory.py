"""Measure the server's memory (RSS) with full-size models, without the model hub.

Builds random-weight models with the exact architectures of the defaults,
saved with ``save_pretrained``:

* opus-mt-ar-en (MarianMT): d_model 512, 6+6 layers, 8 heads, FFN 2048, vocab 62834;
* mT5_multilingual_XLSum (mT5-base): d_model 768, 12+12 layers, 12 heads, d_ff 2048,
  gated-gelu, vocab 250112, an output layer of its own (not tied to the embeddings);

with the tokenizers of the tiny models (``tarjama-models build-tiny``), starts
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
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED_SOURCE = ROOT / "seeds/000_72c42d5ea82af53c.txt"
SEED_TARGET = ROOT / "seeds/000_72c42d5ea82af53c.reference.en.txt"
_WEIGHTS_AND_CONFIG = {"model.safetensors", "config.json", "generation_config.json"}


def copy_tokenizer(tiny_dir: Path, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in tiny_dir.iterdir():
        if path.is_file() and path.name not in _WEIGHTS_AND_CONFIG:
            shutil.copy2(path, out_dir / path.name)


def suppress_unknown_ids(model_dir: Path, tokenizer_size: int, vocab_size: int) -> None:
    """Random weights pick any of the model's ids, but the tiny tokenizer knows only the
    first ``tokenizer_size``: forbid the rest, as ``generate`` reads generation_config.json."""
    from transformers import GenerationConfig

    generation = GenerationConfig.from_pretrained(model_dir)
    generation.suppress_tokens = list(range(tokenizer_size, vocab_size))
    generation.save_pretrained(model_dir)


def build_fullsize(work_dir: Path) -> tuple[Path, Path]:
    import torch
    from tarjama_server.tiny_models import build_tiny_models
    from transformers import AutoTokenizer, MarianConfig, MarianMTModel, MT5Config, MT5ForConditionalGeneration

    marian_dir, mt5_dir = work_dir / "opus-mt-ar-en-random", work_dir / "mt5-base-random"
    if (marian_dir / "model.safetensors").is_file() and (mt5_dir / "model.safetensors").is_file():
        return marian_dir, mt5_dir
    tiny = build_tiny_models(
        work_dir / "tiny", SEED_SOURCE.read_text(encoding="utf-8"), SEED_TARGET.read_text(encoding="utf-8")
    )
    torch.manual_seed(0)
    tiny_marian = MarianConfig.from_pretrained(tiny.translation)
    marian = MarianConfig(
        vocab_size=62834,
        d_model=512,
        encoder_layers=6,
        decoder_layers=6,
        encoder_attention_heads=8,
        decoder_attention_heads=8,
        encoder_ffn_dim=2048,
        decoder_ffn_dim=2048,
        max_position_embeddings=512,
        activation_function="swish",
        scale_embedding=True,
        # Token ids come from the tiny tokenizer, so its special ids are kept.
        pad_token_id=tiny_marian.pad_token_id,
        decoder_start_token_id=tiny_marian.decoder_start_token_id,
        eos_token_id=tiny_marian.eos_token_id,
        forced_eos_token_id=tiny_marian.forced_eos_token_id,
    )
    MarianMTModel(marian).save_pretrained(marian_dir)
    copy_tokenizer(tiny.translation, marian_dir)
    suppress_unknown_ids(marian_dir, tiny_marian.vocab_size, marian.vocab_size)

    mt5 = MT5Config(
        vocab_size=250112,
        d_model=768,
        d_kv=64,
        d_ff=2048,
        num_layers=12,
        num_decoder_layers=12,
        num_heads=12,
        feed_forward_proj="gated-gelu",
        tie_word_embeddings=False,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
    )
    summarizer = MT5ForConditionalGeneration(mt5)
    # XLSum has its own output layer. transformers 5 forces MT5Config.tie_word_embeddings=True and
    # unties only when the checkpoint carries a different lm_head, so save one (as tiny_models.py does).
    summarizer.lm_head.weight = torch.nn.Parameter(torch.randn_like(summarizer.shared.weight))
    summarizer.save_pretrained(mt5_dir)
    copy_tokenizer(tiny.summarization, mt5_dir)
    suppress_unknown_ids(mt5_dir, len(AutoTokenizer.from_pretrained(mt5_dir)), mt5.vocab_size)
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
