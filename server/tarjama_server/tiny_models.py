"""Build tiny, *untrained* models of the exact classes the server loads.

They exist so the whole system (loading, segmentation, batching, gRPC) can be
exercised where the real weights cannot be downloaded: in tests, in CI and in
the offline demo. Their output is random text; never mistake it for a translation.
Each model directory carries an ``UNTRAINED_MODEL`` marker that the loader reads
and reports loudly (log banner, ``ListModels.untrained``, the response ``model`` field).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

UNTRAINED_MARKER = "UNTRAINED_MODEL"
_MARKER_TEXT = (
    "This model has random weights. It was built by `tarjama-models build-tiny` "
    "to test the service offline; its output is meaningless.\n"
)


@dataclass(frozen=True)
class TinyModelPaths:
    translation: Path
    summarization: Path


def _train_sentencepiece(text: str, prefix: Path, vocab_size: int, **special_ids: int) -> None:
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


def build_tiny_marian(out_dir: Path, source_text: str, target_text: str, vocab_size: int = 400) -> Path:
    """A MarianMT model + MarianTokenizer laid out like Helsinki-NLP/opus-mt-*."""
    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        work_dir = Path(work)
        _train_sentencepiece(source_text, work_dir / "source", vocab_size)
        _train_sentencepiece(target_text, work_dir / "target", vocab_size)
        # opus-mt layout: </s> = 0, <unk> = 1, the pieces of both models, <pad> last.
        vocab: dict[str, int] = {"</s>": 0, "<unk>": 1}
        for side in ("source", "target"):
            processor = spm.SentencePieceProcessor(model_file=str(work_dir / f"{side}.model"))
            for piece_id in range(processor.get_piece_size()):
                piece = processor.id_to_piece(piece_id)
                if piece not in vocab and piece not in ("<s>", "</s>", "<unk>", "<pad>"):
                    vocab[piece] = len(vocab)
        vocab["<pad>"] = len(vocab)
        (work_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
        tokenizer = MarianTokenizer(
            source_spm=str(work_dir / "source.model"),
            target_spm=str(work_dir / "target.model"),
            vocab=str(work_dir / "vocab.json"),
            model_max_length=512,
        )
        tokenizer.save_pretrained(out_dir)

    pad_id = vocab["<pad>"]
    config = MarianConfig(
        vocab_size=len(vocab),
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        activation_function="swish",
        max_position_embeddings=512,
        pad_token_id=pad_id,
        decoder_start_token_id=pad_id,
        eos_token_id=0,
        forced_eos_token_id=0,
        scale_embedding=True,
        share_encoder_decoder_embeddings=True,
    )
    torch.manual_seed(0)
    MarianMTModel(config).save_pretrained(out_dir)
    (out_dir / UNTRAINED_MARKER).write_text(_MARKER_TEXT)
    return out_dir


def build_tiny_mt5(out_dir: Path, text: str, vocab_size: int = 600) -> Path:
    """An MT5ForConditionalGeneration laid out like csebuetnlp/mT5_multilingual_XLSum:
    a bare SentencePiece ``spiece.model`` and a T5 tokenizer config, no ``tokenizer.json``,
    so loading it takes the same conversion path as the real checkpoint."""
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
    config = MT5Config(
        vocab_size=len(tokenizer),
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        feed_forward_proj="gated-gelu",
        tie_word_embeddings=False,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
    )
    torch.manual_seed(0)
    MT5ForConditionalGeneration(config).save_pretrained(out_dir)
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
