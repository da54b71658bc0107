"""Decoding recipes, each written once: how translation and summarization decode, the
summary styles, the retry of a looping output, the most work a request can cost, and
what the start-up calibration runs. The pipelines, admission and ``app`` all read them here."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from ..engines.base import GenerationParams, ModelInfo

# What the start-up calibration reads (news-like Arabic): one full batch per model.
CALIBRATION_SENTENCE = "قالت وكالة الأنباء إن القوات الحكومية سيطرت على أحياء في شرق المدينة بعد معارك استمرت أسابيع."


@dataclass(frozen=True)
class TranslationDefaults:
    num_beams: int = 4
    # Longest segment sent to the model, in tokens. Opus-MT reads 512 but was
    # trained on sentences; quality falls on long inputs, so split earlier.
    max_segment_tokens: int = 256
    # Arabic is terser than English in subword tokens; 2.5x + 8 leaves room for
    # the longest real translations while stopping runaway loops early.
    max_new_tokens_ratio: float = 2.5
    # Re-translate a segment whose output loops, with n-gram blocking on.
    repetition_guard: bool = True

    def params(
        self, num_beams: int = 0, max_new_tokens: int = 0, alternatives: int = 0, alignment: bool = False
    ) -> GenerationParams:
        """The request's decoding: its own beam width and absolute cap, or the defaults (a cap
        relative to each segment's length); ``alternatives`` other hypotheses besides the best;
        ``alignment``: each output's token alignment and scores too."""
        return GenerationParams(
            num_beams=num_beams or self.num_beams,
            max_new_tokens=max_new_tokens,
            max_new_tokens_ratio=0.0 if max_new_tokens else self.max_new_tokens_ratio,
            alternatives=alternatives,
            alignment=alignment,
        )

    @staticmethod
    def retry_params(params: GenerationParams) -> GenerationParams:
        """A looping output is translated again with n-gram blocking and a repetition penalty."""
        return dataclasses.replace(params, no_repeat_ngram_size=3, repetition_penalty=1.3)

    def most_tokens(self, input_tokens: Iterable[int], params: GenerationParams, info: ModelInfo) -> float:
        """The most work segments of ``input_tokens`` can cost: each read and written to its
        output limit, twice where the repetition guard may retry it."""
        attempts = 2 if self.repetition_guard else 1
        return float(sum(attempts * (tokens + params.new_token_limit(tokens, info)) for tokens in input_tokens))

    def calibration_job(self) -> tuple[str, GenerationParams]:
        """What one calibration job reads, and how it decodes: a news sentence, as served."""
        return CALIBRATION_SENTENCE, self.params()


@dataclass(frozen=True)
class SummaryStyle:
    """How the final summary is decoded (map steps of a long article always use the card's recipe)."""

    name: str
    max_tokens: int
    # Beam scores are divided by length ** length_penalty: above 1 favours longer output.
    length_penalty: float
    # Keep the first sentence only.
    one_sentence: bool = False


STYLES = {
    style.name: style
    for style in (
        SummaryStyle("headline", max_tokens=32, length_penalty=0.6, one_sentence=True),
        SummaryStyle("short", max_tokens=84, length_penalty=0.6),  # the XLSum card's recipe
        SummaryStyle("long", max_tokens=200, length_penalty=1.5),
    )
}
DEFAULT_STYLE = "short"
# The model card's recipe for csebuetnlp/mT5_multilingual_XLSum: the default style and every map step.
CARD_STYLE = STYLES["short"]


@dataclass(frozen=True)
class SummarizationDefaults:
    # The card's beam width and n-gram blocking; its length and length penalty are CARD_STYLE.
    num_beams: int = 4
    no_repeat_ngram_size: int = 2
    max_reduce_rounds: int = 6

    def params(
        self, style: SummaryStyle = CARD_STYLE, *, max_summary_tokens: int = 0, num_beams: int = 0
    ) -> GenerationParams:
        """``style``'s length (or ``max_summary_tokens``) and length penalty, with the card's n-gram blocking."""
        return GenerationParams(
            num_beams=num_beams or self.num_beams,
            max_new_tokens=max_summary_tokens or style.max_tokens,
            no_repeat_ngram_size=self.no_repeat_ngram_size,
            length_penalty=style.length_penalty,
        )

    def calibration_job(self) -> tuple[str, GenerationParams]:
        """What one calibration job reads, and how it decodes: an article-sized text, as a map step."""
        return " ".join([CALIBRATION_SENTENCE] * 8), self.params()
