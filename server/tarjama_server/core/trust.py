"""What an editor can act on: a segment's confidence, from the model's own score, and its
flags (passed through, retried, cut, unusual length, source copied, glossary term missing,
cached). Pure functions; the pipelines call them on each segment."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

from ..engines.base import Generation
from .cache import text_bytes
from .context import Usage


class SegmentFlag(Enum):
    """The flags a segment may carry (``tarjama.v1.SegmentFlag``)."""

    PASSED_THROUGH = "passed_through"
    REPETITION_RETRIED = "repetition_retried"
    CUT = "cut"
    UNUSUAL_LENGTH = "unusual_length"
    SOURCE_COPIED = "source_copied"
    GLOSSARY_MISSING = "glossary_missing"
    CACHED = "cached"
    # With alignment on (text.alignment has the rules and thresholds):
    OMISSION_SUSPECTED = "omission_suspected"  # a run of source content words nothing attends to
    UNALIGNED_OUTPUT = "unaligned_output"  # a run of output content words aligned to nothing
    FROM_MEMORY = "from_memory"  # the memory's approved translation: the model did not run
    MEMORY_MATCH = "memory_match"  # the memory holds a near match for the editor to compare


# The output/input token ratios the model usually writes (tokens include the end token on
# both sides): outside them, something may be missing or invented. The upper bound is the
# default output cap's ratio (recipes.TranslationDefaults.max_new_tokens_ratio), so an
# output cut at the cap is always flagged.
USUAL_LENGTH_RATIO = (0.5, 2.5)
# Below this many input tokens (a name, a dateline) the ratio says nothing: never flagged.
MIN_TOKENS_FOR_RATIO = 8
# Share of an output's letters in Arabic script above which it copies an Arabic source.
COPIED_SCRIPT_SHARE = 0.5


def confidence(log_probability: float) -> float:
    """exp(mean log-probability per token), between 0 and 1: the geometric mean of the
    probabilities the model gave the tokens it wrote."""
    return min(1.0, max(0.0, math.exp(log_probability)))


def unusual_length(input_tokens: int, output_tokens: int) -> bool:
    if input_tokens < MIN_TOKENS_FOR_RATIO:
        return False
    low, high = USUAL_LENGTH_RATIO
    return not low <= output_tokens / input_tokens <= high


_SPACES = re.compile(r"\s+")


def _arabic_share(text: str) -> float:
    letters = [char for char in text if char.isalpha()]
    if not letters:
        return 0.0
    arabic = sum("ARABIC" in unicodedata.name(char, "") for char in letters)
    return arabic / len(letters)


def source_copied(source: str, translation: str, *, target_language: str) -> bool:
    """The output repeats the source: the same text (ignoring case and spacing), or, into a
    language not written in Arabic script, mostly Arabic letters."""
    if _SPACES.sub(" ", source).strip().casefold() == _SPACES.sub(" ", translation).strip().casefold():
        return True
    return target_language not in ("ar", "fa", "ur") and _arabic_share(translation) > COPIED_SCRIPT_SHARE


def translated_flags(
    *,
    source: str,
    translation: str,
    target_language: str,
    input_tokens: int,
    output_tokens: int,
    retried: bool,
    cut: bool,
    glossary_missing: bool,
    cached: bool,
    omission: bool = False,
    unaligned: bool = False,
) -> tuple[SegmentFlag, ...]:
    """The flags of a segment the model translated, in enum order."""
    flags = {
        SegmentFlag.REPETITION_RETRIED: retried,
        SegmentFlag.CUT: cut,
        SegmentFlag.UNUSUAL_LENGTH: unusual_length(input_tokens, output_tokens),
        SegmentFlag.SOURCE_COPIED: source_copied(source, translation, target_language=target_language),
        SegmentFlag.GLOSSARY_MISSING: glossary_missing,
        SegmentFlag.CACHED: cached,
        SegmentFlag.OMISSION_SUSPECTED: omission,
        SegmentFlag.UNALIGNED_OUTPUT: unaligned,
    }
    return tuple(flag for flag, on in flags.items() if on)


@dataclass(frozen=True, kw_only=True)
class ModelOutput:
    """What became of one model input: the final generation (after any repetition retry:
    its text, its own tokens, its score and alternatives), what every attempt cost, and how
    it was made. This is what the cache stores."""

    generation: Generation
    usage: Usage  # every attempt's tokens; none when it came from the cache
    retried: bool = False
    cached: bool = False

    def size(self) -> int:
        """Bytes it holds, as the cache counts them: its texts, and its token alignment (8 bytes a number)."""
        tokens = self.generation.tokens
        aligned = (
            0
            if tokens is None
            else 8 * (len(tokens.log_probs) * (len(tokens.source_spans) + 3) + 2 * len(tokens.source_spans))
        )
        return text_bytes(self.generation.text, *(h.text for h in self.generation.alternatives)) + aligned
