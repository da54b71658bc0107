"""Sentence segmentation with source offsets, for Arabic and English news text.

Opus-MT models are trained on single sentences and read at most 512 tokens, so a
document is cut into sentences, and any sentence still too long for the model is
cut further (clauses, then words, then characters). Nothing is ever dropped:
every non-space character of the input lies in exactly one segment, and each
segment records its span ``[start, end)`` in Unicode code points (Python string
indices), plus the whitespace that separated it from the previous segment so
the document, paragraph breaks included, can be rebuilt.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

TokenCounter = Callable[[str], int]

# Sentence-final punctuation: Latin full stop / question / exclamation, Arabic
# question mark and semicolon (used as a sentence break in news), ellipsis, and
# the Arabic-script full stop U+06D4.
_TERMINATORS = ".!?؟؛…۔"
# Characters that close a sentence after its final punctuation: `"...الصفر." وأصبحت`.
_CLOSERS = "\"'”’»)]}›"
_PARAGRAPH_BREAK = re.compile(r"\n\s*")
_CLAUSE_BREAK = re.compile(r"[،,:;؛]\s+|\s[-–—]\s")

# Words that end with a full stop without ending the sentence (compared lower-cased,
# without the dot). Single letters of any script (initials, Arabic "د." for doctor)
# are treated the same way in code.
ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "gen", "col", "lt", "sgt",
        "capt", "maj", "gov", "sen", "rep", "pres", "rev", "hon", "vs", "etc", "inc", "ltd",
        "co", "corp", "no", "nos", "vol", "fig", "approx", "est", "dept", "univ", "jan", "feb",
        "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "e.g", "i.e",
        "u.s", "u.k", "u.n", "a.m", "p.m",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Span:
    """A piece of the source text: ``text == source[start:end]``."""

    start: int
    end: int
    text: str
    # Whitespace between the previous span (or the start of the text) and this one,
    # normalised: "" before the first span, "\n"/"\n\n" across line or paragraph
    # breaks, " " otherwise. Joining ``separator + translation`` rebuilds a document.
    separator: str


def _is_arabic_letter(char: str) -> bool:
    return ("\u0600" <= char <= "\u06ff" and char.isalpha()) or "\u0750" <= char <= "\u077f"


def _word_before(text: str, index: int) -> str:
    """The run of letters and inner dots ending just before ``index``."""
    start = index
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "."):
        start -= 1
    return text[start:index]


def _sentence_ends(text: str, start: int, end: int) -> Iterator[int]:
    """Offsets (exclusive) where sentences end inside ``text[start:end]``."""
    # Straight double quotes seen so far in this paragraph: one after an odd
    # number of them closes a quotation, one after an even number opens one.
    quotes = 0
    i = start
    while i < end:
        char = text[i]
        if char not in _TERMINATORS:
            quotes += char == '"'
            i += 1
            continue
        run_start = i
        while i < end and text[i] in _TERMINATORS:
            i += 1
        terminators = text[run_start:i]
        while i < end and text[i] in _CLOSERS:
            if text[i] == '"':
                if quotes % 2 == 0:
                    break  # it opens the next sentence's quotation
                quotes += 1
            i += 1
        if i >= end:
            break  # the paragraph ends here anyway
        following = text[i]
        if terminators == ".":
            if text[run_start - 1 : run_start].isdigit() and following.isdigit():
                continue  # 3.5, 1.200
            word = _word_before(text, run_start)
            if (len(word) == 1 and word.isalpha()) or word.lower() in ABBREVIATIONS:
                continue  # initials, "د. محمد", "Mr. Smith", "U.S. officials"
            if run_start - start <= 3 and text[start:run_start].isdigit():
                continue  # a list marker opening the paragraph: "1. البند الأول"
            if following.isspace():
                next_start = i
                while next_start < end and text[next_start].isspace():
                    next_start += 1
                if next_start < end and text[next_start].islower():
                    continue  # "approx. five": Latin lower case does not start a sentence
                yield i
            elif _is_arabic_letter(following) and _is_arabic_letter(text[run_start - 1 : run_start] or " "):
                yield i  # a missing space after the full stop is common in Arabic copy
        elif following.isspace() or following.isalpha() or following in '"«“(':
            yield i


def split_sentences(text: str) -> list[Span]:
    """Split ``text`` into sentences; every non-space character lands in one span."""
    spans: list[Span] = []
    previous_end = 0
    paragraph_start = 0
    for match in [*_PARAGRAPH_BREAK.finditer(text), None]:
        paragraph_end = match.start() if match else len(text)
        cut = paragraph_start
        for boundary in [*_sentence_ends(text, paragraph_start, paragraph_end), paragraph_end]:
            raw = text[cut:boundary]
            stripped = raw.strip()
            if stripped:
                start = cut + (len(raw) - len(raw.lstrip()))
                spans.append(_make_span(text, previous_end, start, start + len(stripped), bool(spans)))
                previous_end = start + len(stripped)
            cut = boundary
        if match:
            paragraph_start = match.end()
    return spans


def _make_span(text: str, previous_end: int, start: int, end: int, has_previous: bool) -> Span:
    gap = text[previous_end:start]
    newlines = gap.count("\n")
    if not has_previous:
        separator = ""
    elif newlines:
        separator = "\n\n" if newlines > 1 else "\n"
    else:
        separator = " "
    return Span(start=start, end=end, text=text[start:end], separator=separator)


def _pieces(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    """``[start, end)`` cut after each match of ``pattern`` (the match stays left)."""
    cuts = [start]
    for match in pattern.finditer(text, start, end):
        if start < match.end() < end:
            cuts.append(match.end())
    cuts.append(end)
    return [(a, b) for a, b in itertools.pairwise(cuts) if text[a:b].strip()]


def _words(text: str, start: int, end: int) -> list[tuple[int, int]]:
    return [(start + m.start(), start + m.end()) for m in re.finditer(r"\S+\s*", text[start:end])]


def _split_to_fit(text: str, start: int, end: int, count: TokenCounter, max_tokens: int) -> list[tuple[int, int]]:
    """Cut ``text[start:end]`` into the fewest pieces at clause, then word, then
    character boundaries so that each piece counts at most ``max_tokens``."""
    if count(text[start:end]) <= max_tokens:
        return [(start, end)]
    overhead = count("")  # end-of-sequence and language tokens, counted once per piece
    units: list[tuple[int, int, int]] = []  # (start, end, estimated tokens)
    for level in (_CLAUSE_BREAK, None):
        pieces = _pieces(text, start, end, level) if level else _words(text, start, end)
        if len(pieces) > 1:
            for a, b in pieces:
                units.extend(
                    (x, y, count(text[x:y]) - overhead) for x, y in _split_to_fit(text, a, b, count, max_tokens)
                )
            break
    else:
        # One "word" longer than the window (a URL, a run of symbols): cut characters.
        if end - start <= 1:
            return [(start, end)]
        width = max(1, (end - start) * max_tokens // max(count(text[start:end]), 1) - 1)
        return [
            piece
            for a in range(start, end, width)
            for piece in _split_to_fit(text, a, min(a + width, end), count, max_tokens)
        ]
    # Greedy packing on summed estimates, then one exact check per packed piece.
    packed: list[tuple[int, int]] = []
    piece_start, piece_tokens = units[0][0], overhead
    previous_end = units[0][0]
    for a, b, tokens in units:
        if piece_tokens > overhead and piece_tokens + tokens > max_tokens:
            packed.append((piece_start, previous_end))
            piece_start, piece_tokens = a, overhead
        piece_tokens += tokens
        previous_end = b
    packed.append((piece_start, previous_end))
    result: list[tuple[int, int]] = []
    for a, b in packed:
        if count(text[a:b]) <= max_tokens or len(_words(text, a, b)) < 2:
            result.append((a, b))
        else:  # the estimate undercounted: halve at a word boundary
            words = _words(text, a, b)
            middle = words[len(words) // 2][0]
            result.extend(_split_to_fit(text, a, middle, count, max_tokens))
            result.extend(_split_to_fit(text, middle, b, count, max_tokens))
    return result


def segment(text: str, count_tokens: TokenCounter, max_tokens: int) -> list[Span]:
    """Sentences of ``text``, with any sentence over ``max_tokens`` cut to fit."""
    if max_tokens < 1:
        raise ValueError("max_tokens must be positive")
    spans: list[Span] = []
    for sentence in split_sentences(text):
        pieces = _split_to_fit(text, sentence.start, sentence.end, count_tokens, max_tokens)
        for index, (a, b) in enumerate(pieces):
            raw = text[a:b]
            start = a + len(raw) - len(raw.lstrip())
            stop = start + len(raw.strip())
            separator = sentence.separator if index == 0 else " "
            spans.append(Span(start=start, end=stop, text=text[start:stop], separator=separator))
    return spans


def rebuild(separators: list[str], pieces: list[str]) -> str:
    """Join translated pieces with their source separators (paragraph breaks kept)."""
    return "".join(separator + piece for separator, piece in zip(separators, pieces, strict=True))


def pack(text: str, spans: list[Span], count_tokens: TokenCounter, max_tokens: int) -> list[str]:
    """Group consecutive spans into as few chunks of ``text`` as fit ``max_tokens`` each.
    Every span must fit on its own (``segment`` guarantees it)."""
    overhead = count_tokens("")
    groups: list[list[Span]] = []
    total = overhead
    for span in spans:
        tokens = count_tokens(span.text) - overhead
        if groups and total + tokens <= max_tokens:
            groups[-1].append(span)
            total += tokens
        else:
            groups.append([span])
            total = overhead + tokens
    chunks: list[str] = []
    pending = groups[::-1]
    while pending:  # the summed estimate can undercount the joined text: verify, halve
        group = pending.pop()
        chunk = text[group[0].start : group[-1].end]
        if len(group) > 1 and count_tokens(chunk) > max_tokens:
            middle = len(group) // 2
            pending.extend([group[middle:], group[:middle]])
        else:
            chunks.append(chunk)
    return chunks
