"""Build tiny, *untrained* models of the exact classes the server loads.

They exist so the whole system (loading, segmentation, batching, gRPC) can be
exercised where the real weights cannot be downloaded: in tests, in CI and in
the offline demo. Their output is random text; never mistake it for a translation.
Each model directory carries an ``UNTRAINED_MODEL`` marker that the loader reads
and reports loudly (log banner, ``ListModels.untrained``, the response ``model`` field).

Random weights never choose end-of-sequence on their own, so every segment would
decode to the length cap (hundreds of tokens) and tests would cost what the machine's
load decides. Each model therefore gets a bias towards end-of-sequence, calibrated at
build time so that it stops after a short output (a few tokens) on the seed text, as a
real model stops after a sentence. ``eos_bias=False`` builds one that never stops, for
the tests of the length cap.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

UNTRAINED_MARKER = "UNTRAINED_MODEL"
# Torch threads to run tiny models with. Their matrices are so small that a second
# thread only adds synchronisation: on 2 cores that other work keeps busy, 2 threads
# measured 10-15x slower per generate call than 1.
TORCH_THREADS = 1
_MARKER_TEXT = (
    "This model has random weights. It was built by `tarjama-models build-tiny` "
    "to test the service offline; its output is meaningless.\n"
)


@dataclass(frozen=True)
class TinyModelPaths:
    translation: Path
    summarization: Path


def _train_sentencepiece(text: str, prefix: Path, vocab_size: int, **special_ids: Any) -> None:
    import sentencepiece as spm

    corpus = prefix.with_suffix(".corpus.txt")
    # One sentence-ish line each: SentencePiece samples lines.
    corpus.write_text("\n".join(line for line in text.replace(".", ".\n").splitlines() if line.strip()))
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(prefix),
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        hard_vocab_limit=False,
        minloglevel=2,
        **special_ids,
    )
    corpus.unlink()


# Calibration of the end-of-sequence bias: a typical (median) output on the seed
# sentences stops after at most _STOP_TOKENS new tokens, like a real model's sentence.
_STOP_TOKENS = 12


def _calibration_sentences(text: str) -> list[str]:
    sentences = [line.strip() for line in text.replace(".", ".\n").splitlines() if len(line.strip()) > 20]
    return sentences[:6] or [text[:200]]


def _calibrate_eos_bias(
    model: Any, tokenizer: Any, sentences: Sequence[str], set_bias: Callable[[float], None], **decoding: Any
) -> float:
    """The least bias at which the median output on ``sentences`` (greedy and beam search,
    which favours long loops) stops within _STOP_TOKENS. Output length falls as the bias
    rises, so bisection finds it; random weights are seeded, so the result is deterministic."""
    import torch

    encoded = tokenizer(list(sentences), return_tensors="pt", padding=True)
    start_id = model.generation_config.decoder_start_token_id
    pad_id = model.generation_config.pad_token_id

    def median_length(bias: float) -> float:
        set_bias(bias)
        found: list[int] = []
        for num_beams in (1, 2, 4):
            # length_penalty only applies to beam search (transformers warns otherwise).
            options = decoding if num_beams > 1 else {k: v for k, v in decoding.items() if k != "length_penalty"}
            with torch.inference_mode():
                output = model.generate(
                    **encoded, num_beams=num_beams, do_sample=False, max_new_tokens=4 * _STOP_TOKENS, **options
                )
            found += ((output != pad_id) & (output != start_id)).sum(dim=1).tolist()
        return statistics.median(found)

    threads = torch.get_num_threads()
    torch.set_num_threads(TORCH_THREADS)
    try:
        low, high = 0.0, 32.0
        if median_length(high) > _STOP_TOKENS:
            raise RuntimeError("no end-of-sequence bias makes this untrained model stop")
        for _ in range(10):  # to within 0.03: outputs change little closer than that
            middle = (low + high) / 2
            low, high = (low, middle) if median_length(middle) <= _STOP_TOKENS else (middle, high)
    finally:
        torch.set_num_threads(threads)
    set_bias(high)
    return high


# Stopping behaviour of an untrained model: "early" (calibrated end-of-sequence bias, for
# tests), "unbiased" (random weights as they come: they run to the length cap), "never"
# (end-of-sequence suppressed: every output is exactly as long as allowed, for benchmarks).
Stop = Literal["early", "unbiased", "never"]
_NEVER_BIAS = -1e4

TINY_MARIAN = {
    "d_model": 32, "encoder_layers": 2, "decoder_layers": 2, "encoder_attention_heads": 4,
    "decoder_attention_heads": 4, "encoder_ffn_dim": 64, "decoder_ffn_dim": 64,
}  # fmt: skip
# Helsinki-NLP/opus-mt-ar-en, as in its config.json: 76.8 M parameters, vocabulary 62,834.
OPUS_MT_AR_EN = {
    "d_model": 512, "encoder_layers": 6, "decoder_layers": 6, "encoder_attention_heads": 8,
    "decoder_attention_heads": 8, "encoder_ffn_dim": 2048, "decoder_ffn_dim": 2048, "vocab_size": 62834,
}  # fmt: skip
TINY_MT5 = {"d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 2, "num_decoder_layers": 2, "num_heads": 4}
# csebuetnlp/mT5_multilingual_XLSum (mT5-base): about 580 M parameters, vocabulary 250,112.
MT5_BASE = {
    "d_model": 768, "d_kv": 64, "d_ff": 2048, "num_layers": 12, "num_decoder_layers": 12, "num_heads": 12,
    "vocab_size": 250112,
}  # fmt: skip


def build_marian_tokenizer(
    out_dir: Path, source_text: str, target_text: str, vocab_size: int, *, padded_size: int = 0
) -> tuple[Any, dict[str, int]]:
    """A MarianTokenizer laid out like opus-mt's, saved in ``out_dir``: two SentencePiece models
    trained on the texts, one vocabulary with </s> = 0, <unk> = 1, the pieces of both, and
    <pad> last (padded with unused pieces to ``padded_size`` when given). Returns it and its vocabulary."""
    import sentencepiece as spm
    from transformers import MarianTokenizer

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        work_dir = Path(work)
        _train_sentencepiece(source_text, work_dir / "source", vocab_size)
        _train_sentencepiece(target_text, work_dir / "target", vocab_size)
        vocab: dict[str, int] = {"</s>": 0, "<unk>": 1}
        for side in ("source", "target"):
            processor = spm.SentencePieceProcessor(model_file=str(work_dir / f"{side}.model"))
            for piece_id in range(processor.get_piece_size()):
                piece = processor.id_to_piece(piece_id)
                if piece not in vocab and piece not in ("<s>", "</s>", "<unk>", "<pad>"):
                    vocab[piece] = len(vocab)
        while len(vocab) < padded_size - 1:
            vocab[f"<unused{len(vocab)}>"] = len(vocab)
        vocab["<pad>"] = len(vocab)
        (work_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
        tokenizer = MarianTokenizer(
            source_spm=str(work_dir / "source.model"),
            target_spm=str(work_dir / "target.model"),
            vocab=str(work_dir / "vocab.json"),
            model_max_length=512,
        )
        tokenizer.save_pretrained(out_dir)
    return tokenizer, vocab


def marian_config(vocab: dict[str, int], sizes: Mapping[str, int], **options: Any) -> Any:
    """A ``MarianConfig`` laid out like opus-mt's for ``vocab`` (``build_marian_tokenizer``'s:
    </s> = 0, <pad> last, where decoding starts) with the layer ``sizes`` and any other ``options``."""
    from transformers import MarianConfig

    pad_id = vocab["<pad>"]
    return MarianConfig(
        vocab_size=len(vocab),
        **sizes,
        activation_function="swish",
        max_position_embeddings=512,
        pad_token_id=pad_id,
        decoder_start_token_id=pad_id,
        eos_token_id=0,
        forced_eos_token_id=0,
        scale_embedding=True,
        share_encoder_decoder_embeddings=True,
        **options,
    )


def build_tiny_marian(
    out_dir: Path,
    source_text: str,
    target_text: str,
    vocab_size: int = 400,
    *,
    stop: Stop = "early",
    architecture: dict[str, int] | None = None,
) -> Path:
    """A MarianMT model + MarianTokenizer laid out like Helsinki-NLP/opus-mt-*, tiny unless
    ``architecture`` says otherwise (``OPUS_MT_AR_EN``: the real sizes, for benchmarks; a
    ``vocab_size`` there pads the vocabulary with unused pieces, <pad> still last)."""
    import torch
    from transformers import MarianMTModel

    sizes = {**TINY_MARIAN, **(architecture or {})}
    padded_size = sizes.pop("vocab_size", 0)  # read once: popped in the loop's test, it padded one piece
    tokenizer, vocab = build_marian_tokenizer(out_dir, source_text, target_text, vocab_size, padded_size=padded_size)

    config = marian_config(vocab, sizes)
    torch.manual_seed(0)
    model = MarianMTModel(config).eval()

    # Marian adds final_logits_bias to every step's logits: a bias on </s> makes it stop.
    def set_bias(bias: float) -> None:
        with torch.no_grad():
            model.final_logits_bias.zero_()
            model.final_logits_bias[0, config.eos_token_id] = bias

    if stop == "early":
        _calibrate_eos_bias(model, tokenizer, _calibration_sentences(source_text), set_bias)
    elif stop == "never":
        set_bias(_NEVER_BIAS)
    model.save_pretrained(out_dir)
    (out_dir / UNTRAINED_MARKER).write_text(_MARKER_TEXT)
    return out_dir


def build_tiny_mt5(
    out_dir: Path, text: str, vocab_size: int = 600, *, stop: Stop = "early", architecture: dict[str, int] | None = None
) -> Path:
    """An MT5ForConditionalGeneration laid out like csebuetnlp/mT5_multilingual_XLSum:
    a bare SentencePiece ``spiece.model`` and a T5 tokenizer config, no ``tokenizer.json``,
    so loading it takes the same conversion path as the real checkpoint. Tiny unless
    ``architecture`` says otherwise (``MT5_BASE``: the real sizes, for benchmarks)."""
    import torch
    from transformers import AutoTokenizer, MT5Config, MT5ForConditionalGeneration

    out_dir.mkdir(parents=True, exist_ok=True)
    _train_sentencepiece(text, out_dir / "spiece", vocab_size, pad_id=0, eos_id=1, unk_id=2, bos_id=-1)
    (out_dir / "spiece.vocab").unlink()
    special = {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}
    (out_dir / "special_tokens_map.json").write_text(json.dumps(special))
    (out_dir / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "T5Tokenizer", "extra_ids": 100, **special})  # no model_max_length, as in XLSum
    )
    tokenizer = AutoTokenizer.from_pretrained(out_dir)
    sizes = {"vocab_size": len(tokenizer), **TINY_MT5, **(architecture or {})}
    config = MT5Config(
        **sizes,
        feed_forward_proj="gated-gelu",
        tie_word_embeddings=False,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
    )
    torch.manual_seed(0)
    model = MT5ForConditionalGeneration(config).eval()
    with torch.no_grad():
        # XLSum's checkpoint has its own output layer (lm_head.weight != shared.weight).
        # transformers 5 always sets MT5Config.tie_word_embeddings=True and unties only when
        # the checkpoint carries a different lm_head: give the tiny model one, so loading it
        # takes the real checkpoint's path (tests assert the two differ after loading).
        model.lm_head.weight = torch.nn.Parameter(torch.randn_like(model.shared.weight))
        # mT5 has no final_logits_bias. The same effect: one embedding dimension is a
        # constant, so the decoder's last hidden state always carries it, and only the
        # </s> row of lm_head reads that dimension.
        constant_dim = config.d_model - 1
        model.shared.weight[:, constant_dim] = 4.0
        model.lm_head.weight[:, constant_dim] = 0.0

    def set_bias(bias: float) -> None:
        with torch.no_grad():
            model.lm_head.weight[config.eos_token_id, constant_dim] = bias

    if stop == "early":
        # With the summarizer's decoding (the XLSum card's), which the pipeline always uses.
        _calibrate_eos_bias(
            model, tokenizer, _calibration_sentences(text), set_bias, no_repeat_ngram_size=2, length_penalty=0.6
        )
    elif stop == "never":
        set_bias(_NEVER_BIAS)
    else:
        set_bias(0.0)
    model.save_pretrained(out_dir)
    # As in XLSum's config.json (transformers overrides it on load; see above).
    config_file = out_dir / "config.json"
    config_file.write_text(json.dumps({**json.loads(config_file.read_text()), "tie_word_embeddings": False}, indent=2))
    (out_dir / UNTRAINED_MARKER).write_text(_MARKER_TEXT)
    return out_dir


def build_tiny_models(out_dir: Path, source_text: str, target_text: str) -> TinyModelPaths:
    """Both tiny models under ``out_dir`` (``marian-ar-en/`` and ``mt5-summarizer/``)."""
    import transformers

    transformers.utils.logging.disable_progress_bar()
    out_dir = Path(out_dir)
    return TinyModelPaths(
        translation=build_tiny_marian(out_dir / "marian-ar-en", source_text, target_text),
        summarization=build_tiny_mt5(out_dir / "mt5-summarizer", source_text + "\n" + target_text),
    )
