"""A translated segment's word alignment, in the offsets a client reads: source words as ranges
of the request text (the model read a normalized copy, maybe with glossary renderings put in),
output words as ranges of the segment's translation; with each output word's probability and
what the alignment suggests was skipped or added (see ``text.alignment`` for how words are
linked and the thresholds)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..engines.base import TokenAlignment
from ..text import alignment as words
from ..text.glossary import Glossary, TermMatch
from ..text.normalization import normalize_with_origins

Range = tuple[int, int]


@dataclass(frozen=True)
class WordLink:
    """A source word (code points of the request text) and an output word it was translated into
    (code points of the segment's translation)."""

    source_start: int
    source_end: int
    target_start: int
    target_end: int


@dataclass(frozen=True)
class WordScore:
    """An output word (code points of the translation) and the model's probability for it."""

    target_start: int
    target_end: int
    probability: float


@dataclass(frozen=True)
class SegmentAlignment:
    links: tuple[WordLink, ...]
    scores: tuple[WordScore, ...]
    # Source runs (request-text ranges) the output seems to skip, output runs aligned to nothing.
    omitted: tuple[Range, ...] = ()
    unaligned: tuple[Range, ...] = ()
    # The same in the model's own coordinates, for placing tags and checking terms.
    words: words.WordAlignment | None = field(default=None, compare=False, repr=False)
    # Each source word's range in the segment's own text (the text the model input was made
    # from: the segment, or for HTML its part of a block's text); index: words.source_words.
    local_ranges: tuple[Range, ...] = field(default=(), compare=False, repr=False)


def model_input_origins(span_text: str, model_input: str, matches: Sequence[TermMatch]) -> list[Range] | None:
    """For each character of ``model_input``, the range of ``span_text`` it came from; the model
    input is the span normalized (``normalize_for_model``), stripped, with glossary renderings
    put in (``Glossary.inject``). None when the input was made some other way."""
    normalized, origins = normalize_with_origins(span_text)
    lead = len(normalized) - len(normalized.lstrip())
    stripped = normalized.strip()
    origins = origins[lead : lead + len(stripped)]
    if matches:
        injected = Glossary.injected_origins(stripped, matches)
        origins = [(origins[start][0], origins[end - 1][1]) for start, end in injected]
    return origins if len(origins) == len(model_input) and origins else None


def shifted(tokens: TokenAlignment, generated: str, translation: str) -> TokenAlignment | None:
    """``tokens`` with output spans moved from the engine's ``generated`` text into ``translation``
    (the same text with its edges stripped), or None when it is not that."""
    lead = len(generated) - len(generated.lstrip())
    if generated.strip() != translation.strip() or len(translation) != len(generated.strip()):
        return None
    if not lead:
        return tokens
    spans = tuple((max(0, start - lead), max(0, end - lead)) for start, end in tokens.target_spans)
    return dataclasses.replace(tokens, target_spans=spans)


def align_segment(
    tokens: TokenAlignment,
    model_input: str,
    translation: str,
    origins: Sequence[Range],
    to_request: Callable[[int, int], Range],
) -> SegmentAlignment:
    """The segment's alignment: ``origins`` map the model input's characters into the segment's
    own text, ``to_request`` a range of that text into the request text."""
    found = words.word_alignment(
        model_input, translation, tokens.source_spans, tokens.target_spans, tokens.attention, tokens.log_probs
    )
    local_ranges = tuple((origins[start][0], origins[end - 1][1]) for start, end in found.source_words)
    source_ranges = tuple(to_request(start, end) for start, end in local_ranges)
    links = tuple(WordLink(*source_ranges[source], *found.target_words[target]) for source, target in found.links)
    scores = tuple(
        WordScore(start, end, probability)
        for (start, end), probability in zip(found.target_words, found.target_probabilities, strict=True)
    )
    omitted = tuple(
        (source_ranges[first][0], source_ranges[last][1]) for first, last in words.omissions(found, model_input)
    )
    unaligned = tuple(
        (found.target_words[first][0], found.target_words[last][1])
        for first, last in words.unaligned_output(found, translation)
    )
    return SegmentAlignment(
        links=links, scores=scores, omitted=omitted, unaligned=unaligned, words=found, local_ranges=local_ranges
    )
