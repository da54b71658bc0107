"""Language codes and a script-based language guess, enough for Arabic vs English."""

from __future__ import annotations

import re

from .errors import InvalidRequestError

UNDETERMINED = "und"
_CODE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")


def normalize_language(code: str, field: str) -> str:
    """``"AR"``, ``"ar-SA"``, ``"ar_EG"`` → ``"ar"``; empty stays empty."""
    code = code.strip()
    if not code:
        return ""
    if not _CODE.match(code):
        raise InvalidRequestError(
            f"{field} {code!r} is not a language code: use an ISO 639-1 code such as 'ar' or 'en'"
        )
    return re.split(r"[-_]", code)[0].lower()


def _is_arabic(char: str) -> bool:
    code = ord(char)
    return 0x0600 <= code <= 0x06FF or 0x0750 <= code <= 0x077F or 0x08A0 <= code <= 0x08FF or 0xFB50 <= code <= 0xFEFF


def detect_language(text: str) -> str:
    """ "ar" or "en" by which script holds most letters; "und" with no letters."""
    arabic = latin = 0
    for char in text:
        if not char.isalpha():
            continue
        if _is_arabic(char):
            arabic += 1
        elif char.isascii() or "\u00c0" <= char <= "\u024f":
            latin += 1
    if arabic == latin == 0:
        return UNDETERMINED
    return "ar" if arabic >= latin else "en"
