"""Arabic text normalization for the models (never for offsets or pass-through).

Newsroom copy pasted from PDFs, CMSs and social media carries characters the
models never saw in training: tatweel (kashida) stretching words, Arabic
presentation forms (U+FB50–U+FDFF, U+FE70–U+FEFF) from PDF extraction, zero-width
and bidi controls, and no-break spaces. The model reads the normalized text;
segments keep their offsets into, and their ``source`` from, the original text.
"""

from __future__ import annotations

import re
import unicodedata

TATWEEL = "\u0640"
# Zero-width characters and bidirectional controls: invisible, meaningless to the model.
# (ZWNJ U+200C matters in Persian spelling, but only Arabic reaches the ar→en model.)
_INVISIBLE = (
    "\u200b\u200c\u200d\u2060\ufeff"  # zero-width space, non-joiner, joiner, word joiner, BOM
    "\u200e\u200f\u061c"  # left-to-right, right-to-left, Arabic letter marks
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings and overrides
    "\u2066\u2067\u2068\u2069"  # isolates
)
_REMOVED = dict.fromkeys(map(ord, _INVISIBLE + TATWEEL))
_NO_BREAK_SPACES = {ord("\u00a0"): " ", ord("\u202f"): " ", ord("\u2007"): " "}
_PRESENTATION_FORMS = re.compile("[\ufb50-\ufdff\ufe70-\ufefe]+")


def _nfkc(match: re.Match[str]) -> str:
    return unicodedata.normalize("NFKC", match.group())


def normalize_for_model(text: str) -> str:
    """What the model reads for ``text``: presentation forms mapped to letters (NFKC on
    those only), tatweel and invisible controls removed, no-break spaces made spaces."""
    text = _PRESENTATION_FORMS.sub(_nfkc, text)
    return text.translate(_REMOVED).translate(_NO_BREAK_SPACES)


def normalize_with_origins(text: str) -> tuple[str, list[tuple[int, int]]]:
    """``normalize_for_model(text)`` and, for each of its characters, the (start, end) range of
    ``text`` it came from: what maps a word the model read back to the request's own text."""
    out: list[str] = []
    origins: list[tuple[int, int]] = []
    position = 0
    for match in _PRESENTATION_FORMS.finditer(text):
        _plain(text, position, match.start(), out, origins)
        run = match.group()
        mapped = [unicodedata.normalize("NFKC", char) for char in run]
        if "".join(mapped) == _nfkc(match):  # each form maps alone: keep each one's own origin
            for offset, chars in enumerate(mapped):
                out.append(chars)
                origins += [(match.start() + offset, match.start() + offset + 1)] * len(chars)
        else:  # forms composed across each other: the whole run is the origin of each
            chars = _nfkc(match)
            out.append(chars)
            origins += [(match.start(), match.end())] * len(chars)
        position = match.end()
    _plain(text, position, len(text), out, origins)
    return "".join(out), origins


def _plain(text: str, start: int, end: int, out: list[str], origins: list[tuple[int, int]]) -> None:
    for index in range(start, end):
        char = text[index].translate(_REMOVED).translate(_NO_BREAK_SPACES)
        if char:
            out.append(char)
            origins.append((index, index + 1))
