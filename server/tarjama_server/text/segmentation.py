"""Sentence segmentation with source offsets, for Arabic and English news text.

Opus-MT models are trained on single sentences and read at most 512 tokens, so a
document is cut into sentences, and any sentence still too long for the model is
cut further (clauses, then words, then characters). Nothing is ever dropped:
every non-space character of the input lies in exactly one segment, each
segment records its span ``[start, end)`` in Unicode code points (Python string
indices), and no segment is empty or starts or ends with whitespace.

Each segment also records the exact whitespace before it (``separator``), and
the document keeps its trailing whitespace, so a document passed through
untranslated is rebuilt byte for byte (CRLF, indentation, three newlines).

Every Unicode line break ends a line: ``\\r\\n``, ``\\r``, ``\\n``, ``\\v``, ``\\f``,
U+0085, U+2028 and U+2029. A sentence never spans a line break. Whitespace is
Unicode's White_Space property; other invisible characters (zero-width, bidi
controls) belong to the segment they sit in.

Every step is linear in the text's length (the token counter aside, which is
called on window-sized pieces), so hostile input cannot stall the server.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

# Tokens a model reads for a text, special tokens included. Assumed to be a subword
# tokenizer (SentencePiece, BPE, WordPiece): at most one token per UTF-8 byte of the
# NFKC-normalized text, plus one (a word-boundary marker), plus ``count("")``.
TokenCounter = Callable[[str], int]

# Unicode's White_Space property (Go's unicode.IsSpace, Rust's char::is_whitespace).
WHITESPACE = "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
LINE_BREAKS = "\r\n\v\f\x85\u2028\u2029"
_LINE_BREAK = re.compile(r"\r\n|[\r\n\v\f\x85\u2028\u2029]")

# Sentence-final punctuation: Latin full stop / question / exclamation, Arabic
# question mark and semicolon (used as a sentence break in news), ellipsis, and
# the Arabic-script full stop U+06D4.
_TERMINATORS = ".!?؟؛…۔"
# Characters that close a sentence after its final punctuation: `"...الصفر." وأصبحت`.
_CLOSERS = "\"'”’»)]}›"
_CLAUSE_BREAK = re.compile(f"[،,:;؛][{WHITESPACE}]+|[{WHITESPACE}][-–—][{WHITESPACE}]+")
_WORD_BREAK = re.compile(f"[{WHITESPACE}]+")

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
_LONGEST_ABBREVIATION = max(map(len, ABBREVIATIONS))


@dataclass(frozen=True)
class Span:
    """A piece of the source text: ``text == source[start:end]``, never empty,
    never starting or ending with whitespace."""

    start: int
    end: int
    text: str
    # The exact source text between the previous span (or the start of the text)
    # and this one: only whitespace, possibly empty. Joining ``separator + piece``
    # over the spans, then the document's trailing whitespace, rebuilds it.
    separator: str
    # True where a sentence starts; False for the second and later pieces of a
    # sentence cut to fit the model (whose separator may be "" inside a word).
    sentence_start: bool = True


def is_space(char: str) -> bool:
    return char in WHITESPACE


def lines(text: str) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each line of ``text``, line breaks excluded; empty lines too."""
    start = 0
    for match in _LINE_BREAK.finditer(text):
        yield start, match.start()
        start = match.end()
    yield start, len(text)


def trailing_whitespace(text: str, spans: Sequence[Span]) -> str:
    """What follows the last span (the whole text when there is none)."""
    return text[spans[-1].end :] if spans else text


def _is_arabic_letter(char: str) -> bool:
    return ("\u0600" <= char <= "\u06ff" and char.isalpha()) or "\u0750" <= char <= "\u077f"


def _sentence_ends(text: str, start: int, end: int) -> Iterator[int]:
    """Offsets (exclusive) where sentences end inside the line ``text[start:end]``.
    One pass: each character is looked at a bounded number of times."""
    # Straight double quotes seen so far in this line: one after an odd number
    # of them closes a quotation, one after an even number opens one.
    quotes = 0
    # Start of the run of letters and inner dots ending at i (for abbreviations).
    word_start = start
    i = start
    while i < end:
        char = text[i]
        if char not in _TERMINATORS:
            quotes += char == '"'
            if not char.isalpha():
                word_start = i + 1
            i += 1
            continue
        run_start = i
        while i < end and text[i] in _TERMINATORS:
            i += 1
        terminators = text[run_start:i]
        # The run of letters and dots continues through a single full stop: "U.S".
        next_word_start = word_start if terminators == "." else i
        while i < end and text[i] in _CLOSERS:
            if text[i] == '"':
                if quotes % 2 == 0:
                    break  # it opens the next sentence's quotation
                quotes += 1
            i += 1
            next_word_start = i
        if i >= end:
            break  # the line ends here anyway
        following = text[i]
        word_length = run_start - word_start
        word = text[word_start:run_start] if word_length <= _LONGEST_ABBREVIATION else ""
        word_start = next_word_start
        if terminators == ".":
            if text[run_start - 1 : run_start].isdigit() and following.isdigit():
                continue  # 3.5, 1.200
            if (len(word) == 1 and word.isalpha()) or word.lower() in ABBREVIATIONS:
                continue  # initials, "د. محمد", "Mr. Smith", "U.S. officials"
            if run_start - start <= 3 and text[start:run_start].isdigit():
                continue  # a list marker opening the line: "1. البند الأول"
            if is_space(following):
                next_start = i
                while next_start < end and is_space(text[next_start]):
                    next_start += 1
                if next_start < end and text[next_start].islower():
                    continue  # "approx. five": Latin lower case does not start a sentence
                yield i
            elif _is_arabic_letter(following) and _is_arabic_letter(text[run_start - 1 : run_start] or " "):
                yield i  # a missing space after the full stop is common in Arabic copy
        elif is_space(following) or following.isalpha() or following in '"«“(':
            yield i


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` without leading and trailing whitespace (empty: start == end)."""
    while start < end and is_space(text[start]):
        start += 1
    while end > start and is_space(text[end - 1]):
        end -= 1
    return start, end


def _sentence_bounds(text: str) -> Iterator[tuple[int, int]]:
    for line_start, line_end in lines(text):
        cut = line_start
        for boundary in [*_sentence_ends(text, line_start, line_end), line_end]:
            start, end = _strip(text, cut, boundary)
            if start < end:
                yield start, end
            cut = boundary


def _spans(text: str, bounds: Iterator[tuple[int, int, bool]]) -> list[Span]:
    spans: list[Span] = []
    previous_end = 0
    for start, end, sentence_start in bounds:
        spans.append(Span(start, end, text[start:end], text[previous_end:start], sentence_start))
        previous_end = end
    return spans


def split_sentences(text: str) -> list[Span]:
    """Split ``text`` into sentences; every non-space character lands in one span."""
    return _spans(text, ((start, end, True) for start, end in _sentence_bounds(text)))


def _farthest_fit(text: str, start: int, end: int, count: TokenCounter, max_tokens: int, guess: int) -> int:
    """About the farthest ``cut`` in ``(start, end]`` (within 1/64 of the piece) such that
    ``text[start:cut]`` (stripped) counts at most ``max_tokens``; ``start + 1`` when not
    even one character fits. Gallops from ``guess`` then bisects, so with a good guess
    the counter reads each piece a few times: linear overall, whatever the text."""

    def fits(cut: int) -> bool:
        piece_start, piece_end = _strip(text, start, cut)
        return count(text[piece_start:piece_end]) <= max_tokens

    guess = min(max(guess, start + 1), end)
    step = max(1, (guess - start) // 64)
    good, bad = start, end + 1  # invariant: good fits (or is start); bad does not (or is past the end)
    if fits(guess):
        good = guess
        while good < end:
            probe = min(good + step, end)
            if not fits(probe):
                bad = probe
                break
            good, step = probe, step * 2
    else:
        bad = guess
        while (probe := bad - step) > start:
            if fits(probe):
                good = probe
                break
            bad, step = probe, step * 2
    while bad - good > max(1, (good - start) // 64):
        middle = (good + bad) // 2
        if fits(middle):
            good = middle
        else:
            bad = middle
    return max(good, start + 1)


def _last_cut(cuts: list[int], low: int, high: int) -> int | None:
    """The largest of the ascending ``cuts`` in ``(low, high]``, or None."""
    index = bisect.bisect_right(cuts, high) - 1
    return cuts[index] if index >= 0 and cuts[index] > low else None


def surely_fits(text: str, overhead: int, max_tokens: int) -> bool:
    """True when ``text`` cannot count more than ``max_tokens`` (see ``TokenCounter``):
    most sentences skip the tokenizer, which would dominate segmentation's time."""
    return len(unicodedata.normalize("NFKC", text).encode("utf-8")) + 1 + overhead <= max_tokens


def _split_to_fit(
    text: str, start: int, end: int, count: TokenCounter, max_tokens: int, overhead: int = 0
) -> list[tuple[int, int]]:
    """Cut the sentence ``text[start:end]`` into pieces of at most ``max_tokens``, each
    about as long as fits: at the last clause break that fits (unless that leaves the
    piece less than half full), else the last word break, else between characters
    (never before a combining mark, so vowel signs stay on their letter). Every piece
    is checked with the counter. A single character is kept even if it is over."""
    if surely_fits(text[start:end], overhead, max_tokens):
        return [(start, end)]
    total = count(text[start:end])
    if total <= max_tokens:
        return [(start, end)]
    clause_cuts = [m.end() for m in _CLAUSE_BREAK.finditer(text, start, end)]
    word_cuts = [m.end() for m in _WORD_BREAK.finditer(text, start, end)]
    # First guess at a piece's length, from the sentence's own characters per token.
    guess_length = max(1, (end - start) * max_tokens // max(total, 1))
    pieces: list[tuple[int, int]] = []
    piece_start = start
    while piece_start < end:
        farthest = _farthest_fit(text, piece_start, end, count, max_tokens, piece_start + guess_length)
        guess_length = farthest - piece_start  # the next piece is likely alike
        cut = farthest
        if farthest < end:
            word_cut = _last_cut(word_cuts, piece_start, farthest)
            clause_cut = _last_cut(clause_cuts, piece_start, farthest)
            if clause_cut is not None and clause_cut - piece_start >= (farthest - piece_start) // 2:
                cut = clause_cut
            elif word_cut is not None:
                cut = word_cut
            else:
                while cut - 1 > piece_start and unicodedata.combining(text[cut]):
                    cut -= 1
            if cut != farthest and count(text[slice(*_strip(text, piece_start, cut))]) > max_tokens:
                cut = farthest  # the counter is not monotone here: keep the cut that was checked
        pieces.append(_strip(text, piece_start, cut))
        piece_start, _ = _strip(text, cut, end)
    return pieces


def segment(text: str, count_tokens: TokenCounter, max_tokens: int) -> list[Span]:
    """Sentences of ``text``, with any sentence over ``max_tokens`` cut to fit."""
    if max_tokens < 1:
        raise ValueError("max_tokens must be positive")
    overhead = count_tokens("")

    def bounds() -> Iterator[tuple[int, int, bool]]:
        for sentence_start, sentence_end in _sentence_bounds(text):
            for index, (start, end) in enumerate(
                _split_to_fit(text, sentence_start, sentence_end, count_tokens, max_tokens, overhead)
            ):
                yield start, end, index == 0

    return _spans(text, bounds())


def rebuild(separators: Sequence[str], pieces: Sequence[str], trailing: str = "") -> str:
    """Join pieces with their separators, then the trailing whitespace."""
    return "".join(separator + piece for separator, piece in zip(separators, pieces, strict=True)) + trailing


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
