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
