"""The engine interface shared by translation and summarization."""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

# The most new tokens any request may ask for (models with a decoder position
# table allow fewer: ModelInfo.max_output_tokens).
MAX_OUTPUT_TOKENS = 1024


class Task(Enum):
    TRANSLATION = "translation"
    SUMMARIZATION = "summarization"


@dataclass(frozen=True)
class ModelInfo:
    id: str
    task: Task
    revision: str
    source_languages: tuple[str, ...]
    target_languages: tuple[str, ...]
    license: str
    engine: str
    device: str
    max_input_tokens: int
    untrained: bool = False
    notice: str = ""
    # Most tokens the model can generate for one input: its decoder's position
    # limit (less the start token), or the server's cap for models without one.
    max_output_tokens: int = MAX_OUTPUT_TOKENS
    # Batches the engine runs at once (CTranslate2's inter_threads): the scheduler keeps
    # this many in flight, and admission counts that many workers.
    workers: int = 1

    @property
    def label(self) -> str:
        """What responses report as ``model``: id@revision, flagged when untrained."""
        label = f"{self.id}@{self.revision}"
        return f"{label} (UNTRAINED TEST MODEL)" if self.untrained else label


@dataclass(frozen=True)
class GenerationParams:
    """Decoding settings for one batch. Jobs are only batched with equal params."""

    num_beams: int = 4
    # Absolute cap on new tokens; 0 means the model's window.
    max_new_tokens: int = 0
    # Cap relative to the longest input of the batch (0 disables): guards against
    # the repetition loops opus-mt falls into ("poor, poor, poor...").
    max_new_tokens_ratio: float = 0.0
    no_repeat_ngram_size: int = 0
    length_penalty: float = 1.0
    # > 1 penalises tokens already generated (the repetition guard's retry uses it).
    repetition_penalty: float = 1.0
    # Other hypotheses to return beside the best (Generation.alternatives); the beam is
    # widened to at least alternatives + 1.
    alternatives: int = 0
    # Score the outputs (Generation.log_probability). The server always does; bench/perf.py
    # turns it off to measure what scoring costs.
    scores: bool = True
    # Return each output's token alignment and token scores (Generation.tokens): the model's
    # alignment head read over the output it chose, and each output token's log-probability.
    alignment: bool = False

    @property
    def beam_width(self) -> int:
        """The beam searched: wide enough to return every hypothesis asked for."""
        return max(self.num_beams, self.alternatives + 1)

    def new_token_limit(self, longest_input: int, info: ModelInfo) -> int:
        """New tokens one batch may generate: the absolute cap (or the window), tightened
        by the cap relative to the batch's longest input, and never past the decoder's
        positions (past them generation fails, failing the whole batch). Every engine
        applies the same."""
        limit = self.max_new_tokens or info.max_input_tokens
        if self.max_new_tokens_ratio:
            limit = min(limit, math.ceil(self.max_new_tokens_ratio * longest_input) + 8)
        return min(limit, info.max_output_tokens)


@dataclass(frozen=True)
class Hypothesis:
    """Another output for the same input (``GenerationParams.alternatives``), with its score."""

    text: str
    log_probability: float


@dataclass(frozen=True)
class AlignmentHead:
    """Which cross-attention aligns: the mean of the first ``heads`` heads of decoder layer
    ``layer`` (negative: from the last). Marian's guided alignment trains the first head of
    the last layer (opus-mt's ``transformer-align`` models); CTranslate2 can only select a
    layer and a number of leading heads, so every engine reads the same."""

    layer: int = -1
    heads: int = 1


# Marian's guided-alignment head: the first head of the last decoder layer (the default).
GUIDED_HEAD = AlignmentHead()


@dataclass(frozen=True)
class TokenAlignment:
    """One output's tokens against its input's: what word alignment is made of (``text.alignment``).

    Spans are code-point ``(start, end)`` offsets of each token's surface, source tokens into the
    text the engine was given, output tokens into ``Generation.text``; a token with no surface
    (the end token, an unknown piece) has an empty span. ``attention[t][s]``: how much output
    token ``t`` attends to source token ``s`` in the alignment head (each row sums to 1).
    ``log_probs[t]``: the model's log-probability of output token ``t`` given the input and the
    tokens before it (the end token included), without the search's repetition controls."""

    source_spans: tuple[tuple[int, int], ...]
    target_spans: tuple[tuple[int, int], ...]
    attention: tuple[tuple[float, ...], ...]
    log_probs: tuple[float, ...]


@dataclass(frozen=True)
class Generation:
    text: str
    input_tokens: int
    output_tokens: int
    # The decoder's score for ``text``: the log-probability of its tokens, end token included,
    # as the search scored them (after the repetition controls of the params), divided by their
    # number. Both engines report the same quantity; None when not scored (params.scores off).
    log_probability: float | None = None
    # The next best hypotheses, best first (only when the params ask for alternatives).
    alternatives: tuple[Hypothesis, ...] = ()
    # Token alignment and scores of ``text`` (only when the params ask for alignment).
    tokens: TokenAlignment | None = None


def mean_log_probability(score: float, length: int, length_penalty: float) -> float:
    """The mean log-probability per token of a hypothesis of ``length`` tokens whose beam
    score is ``score``: its summed log-probability divided by ``length ** length_penalty``,
    as transformers' ``sequences_scores`` and CTranslate2's ``return_scores`` report it."""
    if length <= 0:
        return 0.0
    return score * length**length_penalty / length


class Seq2SeqEngine(Protocol):
    """A loaded sequence-to-sequence model. ``generate`` blocks: callers run it
    off the event loop (see ``core.model_worker.ModelWorker``)."""

    info: ModelInfo

    def count_tokens(self, text: str) -> int:
        """Tokens the model would read for ``text``, special tokens included."""
        ...

    def generate(self, texts: Sequence[str], params: GenerationParams) -> list[Generation]:
        """Outputs for ``texts`` in order. Inputs must fit ``info.max_input_tokens``."""
        ...


class TokenizedEngine:
    """What both engines share: a Hugging Face tokenizer, used under a lock, and the model's info."""

    def __init__(self, tokenizer: Any, info: ModelInfo) -> None:
        self.tokenizer = tokenizer
        self.info = info
        # Python tokenizers (sentencepiece-backed Marian) are not thread-safe; counting
        # happens on planning threads while a batch is being encoded on the inference thread.
        self._tokenizer_lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        with self._tokenizer_lock:
            return len(self.tokenizer(text, add_special_tokens=True)["input_ids"])

    def source_spans(self, text: str, token_count: int) -> tuple[tuple[int, int], ...]:
        """Each of the ``token_count`` tokens ``text`` is read as (end token included): its span
        in ``text``. Call with the tokenizer lock held."""
        spans: list[tuple[int, int]] = []
        processor = getattr(self.tokenizer, "spm_source", None)
        if processor is not None:  # Marian: SentencePiece says where each piece came from, in bytes
            encoded = processor.encode(text, return_type="proto")
            starts = _byte_to_char(text)
            spans = [(starts[piece.begin], starts[piece.end]) for piece in encoded.pieces]
            # A piece that starts a word ("▁x") covers the space before it: the word starts after.
            spans = [
                (min(end, start + len(text[start:end]) - len(text[start:end].lstrip())), end) for start, end in spans
            ]
        elif getattr(self.tokenizer, "is_fast", False):
            offsets = self.tokenizer(text, return_offsets_mapping=True)["offset_mapping"]
            spans = [(int(start), int(end)) for start, end in offsets]
        # Special tokens (the end token) read no text: empty spans at the end.
        spans = spans[:token_count]
        return tuple(spans + [(len(text), len(text))] * (token_count - len(spans)))

    def target_spans(self, text: str, tokens: Sequence[str]) -> tuple[tuple[int, int], ...]:
        """Each output token's span in ``text`` (the decoded output): SentencePiece pieces found
        in order, "▁" marking a space; special and unknown tokens get empty spans, a lone "▁" an
        empty one where the next word starts."""
        special = set(self.tokenizer.all_special_tokens)
        spans: list[tuple[int, int]] = []
        cursor = 0
        for token in tokens:
            body = token.replace("\u2581", " ").strip()
            if token not in special and not body:  # a lone "▁": it starts the next word
                skipped = len(text) - len(text[cursor:].lstrip())
                spans.append((skipped, skipped))
                continue
            found = -1 if token in special else text.find(body, cursor)
            # Only just after the cursor (past spaces): never a later, unrelated occurrence.
            if found < 0 or text[cursor:found].strip():
                spans.append((cursor, cursor))
                continue
            spans.append((found, found + len(body)))
            cursor = found + len(body)
        return tuple(spans)


def _byte_to_char(text: str) -> list[int]:
    """For each UTF-8 byte offset of ``text`` (and its end), the code-point offset it falls in."""
    starts: list[int] = []
    for index, char in enumerate(text):
        starts += [index] * len(char.encode("utf-8"))
    starts.append(len(text))
    return starts
