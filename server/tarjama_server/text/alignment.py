"""Word alignment from a model's own alignment head: which output words came from which input words.

The engines return, for one output, its tokens against its input's (``engines.base.TokenAlignment``):
each token's span in its text, the alignment head's attention of each output token over the
source tokens, and each output token's log-probability. Here tokens are joined into words (a
word is a run of non-space characters: SentencePiece's "▁" boundaries, as the text shows them)
and the words are linked: an output word is linked to the source word its tokens, together,
attend to most in the alignment head. An output word whose tokens look mostly at the end
token (where guided alignment sends tokens that translate nothing) is aligned to nothing.

From the links come what an editor and the service use: each output word's probability (the
product of its tokens'), source words nothing attends to (an omission), output words aligned to
nothing (an addition), and where a source range's words went (HTML tags, glossary terms).
Pure functions over plain sequences; thresholds are measured in ``bench/alignment.py``.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

_WORD = re.compile(r"\S+")
_LETTER = re.compile(r"[^\W\d_]")

# An omission: at least OMISSION_RUN consecutive source content words that no output token
# points at and that none attends to by more than OMISSION_PEAK (short words and punctuation
# between them neither count nor break the run). Measured on the trained synthetic model
# (bench/alignment.py): a dropped clause's words peak under 0.2, translated words over 0.5.
OMISSION_RUN = 3
OMISSION_PEAK = 0.3
# An addition: at least UNALIGNED_RUN consecutive output content words aligned to nothing
# (one unaligned word is usually an inserted function word: "the", "of").
UNALIGNED_RUN = 3
# A content word has at least this many letters, or a digit (Arabic and English function words
# are mostly shorter: في من عن, of to in).
CONTENT_LETTERS = 3


def words(text: str) -> tuple[tuple[int, int], ...]:
    """The (start, end) of each word of ``text``: runs of non-space characters."""
    return tuple((match.start(), match.end()) for match in _WORD.finditer(text))


def is_content_word(word: str) -> bool:
    return any(char.isdigit() for char in word) or len(_LETTER.findall(word)) >= CONTENT_LETTERS


@dataclass(frozen=True)
class WordAlignment:
    """One output against its input, word by word (spans are offsets into the two texts given)."""

    source_words: tuple[tuple[int, int], ...]
    target_words: tuple[tuple[int, int], ...]
    # (source word, target word) index pairs, in target then source order.
    links: tuple[tuple[int, int], ...]
    # Each target word's log-probability: the sum of its tokens'.
    target_log_probs: tuple[float, ...]
    # Each source word's highest attention from any output token.
    source_peak: tuple[float, ...]

    @property
    def target_probabilities(self) -> tuple[float, ...]:
        return tuple(math.exp(value) for value in self.target_log_probs)

    def linked_targets(self) -> set[int]:
        return {target for _, target in self.links}

    def linked_sources(self) -> set[int]:
        return {source for source, _ in self.links}

    def targets_of(self, source_words: set[int]) -> list[int]:
        """The target words linked to any of ``source_words``, in order."""
        return sorted({target for source, target in self.links if source in source_words})

    def sources_overlapping(self, start: int, end: int) -> set[int]:
        """Source words overlapping the range [start, end) of the source text."""
        return {i for i, (s, e) in enumerate(self.source_words) if s < end and start < e}


def _word_of(spans: Sequence[tuple[int, int]], words_at: tuple[tuple[int, int], ...]) -> list[int | None]:
    """The word each token's span starts in; an empty span belongs to the word starting right
    there (a lone "▁" piece), or to none (the end token)."""
    starts = [start for start, _ in words_at]
    found: list[int | None] = []
    for start, end in spans:
        index = bisect.bisect_right(starts, start) - 1
        inside = index >= 0 and start < words_at[index][1] and (end > start or start == starts[index])
        found.append(index if inside else None)
    return found


def word_alignment(
    source_text: str,
    target_text: str,
    source_spans: Sequence[tuple[int, int]],
    target_spans: Sequence[tuple[int, int]],
    attention: Sequence[Sequence[float]],
    log_probs: Sequence[float],
) -> WordAlignment:
    """Join a token alignment (see ``engines.base.TokenAlignment``) into words."""
    source_words, target_words = words(source_text), words(target_text)
    source_of = _word_of(source_spans, source_words)
    target_of = _word_of(target_spans, target_words)
    peak = [0.0] * len(source_words)
    word_log_probs = [0.0] * len(target_words)
    # Per target word: the attention its tokens give each source word, summed over the word's
    # tokens; index len(source_words): what goes to no word (the end token).
    mass = [[0.0] * (len(source_words) + 1) for _ in target_words]
    for token, row in enumerate(attention):
        target = target_of[token] if token < len(target_of) else None
        if target is None:
            continue
        if token < len(log_probs):
            word_log_probs[target] += log_probs[token]
        for position, weight in enumerate(row):
            source = source_of[position] if position < len(source_of) else None
            mass[target][len(source_words) if source is None else source] += weight
            if source is not None and weight > peak[source]:
                peak[source] = weight
    # Each target word is linked to the source word its tokens attend to most, together; to
    # none when most of their attention goes to no word.
    links = set()
    for target, row in enumerate(mass):
        best = max(range(len(row)), key=row.__getitem__)
        if best < len(source_words) and row[best] > 0:
            links.add((best, target))
    return WordAlignment(
        source_words=source_words,
        target_words=target_words,
        links=tuple(sorted(links, key=lambda link: (link[1], link[0]))),
        target_log_probs=tuple(word_log_probs),
        source_peak=tuple(peak),
    )


def _runs(flags: Sequence[bool | None], length: int) -> list[tuple[int, int]]:
    """Runs of at least ``length`` True flags (None: neither counts nor breaks), as (first, last) indices."""
    runs: list[tuple[int, int]] = []
    first, last, count = -1, -1, 0
    for index, flag in enumerate([*flags, False]):
        if flag is None:
            continue
        if flag:
            first = index if count == 0 else first
            last, count = index, count + 1
            continue
        if count >= length:
            runs.append((first, last))
        count = 0
    return runs


def omissions(alignment: WordAlignment, source_text: str) -> list[tuple[int, int]]:
    """Runs of source content words the output seems to skip, as (first word, last word)."""
    linked = alignment.linked_sources()
    flags: list[bool | None] = [
        (i not in linked and alignment.source_peak[i] < OMISSION_PEAK)
        if is_content_word(source_text[start:end])
        else None
        for i, (start, end) in enumerate(alignment.source_words)
    ]
    return _runs(flags, OMISSION_RUN)


def unaligned_output(alignment: WordAlignment, target_text: str) -> list[tuple[int, int]]:
    """Runs of output content words aligned to nothing (text the model added), as (first, last)."""
    linked = alignment.linked_targets()
    flags: list[bool | None] = [
        (i not in linked) if is_content_word(target_text[start:end]) else None
        for i, (start, end) in enumerate(alignment.target_words)
    ]
    return _runs(flags, UNALIGNED_RUN)


def target_range(alignment: WordAlignment, source_words: set[int]) -> tuple[int, int] | None:
    """The one contiguous target range holding the words linked to ``source_words``, or None:
    none linked, or split (a target word between them is linked only to other source words)."""
    targets = alignment.targets_of(source_words)
    if not targets:
        return None
    first, last = targets[0], targets[-1]
    outside: dict[int, bool] = {}
    for source, target in alignment.links:
        if first <= target <= last:
            outside[target] = outside.get(target, True) and source not in source_words
    if any(outside.get(target, False) for target in range(first, last + 1)):
        return None
    return alignment.target_words[first][0], alignment.target_words[last][1]
