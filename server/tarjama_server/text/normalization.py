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
