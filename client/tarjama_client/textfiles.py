"""Reading newsroom text files whatever their encoding: UTF-8 (with or without BOM),
UTF-16/32 with a BOM, and the legacy Arabic code pages (Windows-1256, ISO-8859-6)
that archives are full of. Binary data is refused with one line that says so."""

from __future__ import annotations

import codecs

# Encodings a newsroom file is likely to be in, in the order ties are broken.
LIKELY_ENCODINGS = ("utf_8", "utf_16", "utf_32", "cp1256", "iso8859_6", "cp1252", "latin_1")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf_32"),
    (codecs.BOM_UTF32_BE, "utf_32"),
    (codecs.BOM_UTF8, "utf_8_sig"),
    (codecs.BOM_UTF16_LE, "utf_16"),
    (codecs.BOM_UTF16_BE, "utf_16"),
)
BINARY_SIGNATURES = {
    b"\x1f\x8b": "gzip data",
    b"PK\x03\x04": "a zip archive (.docx, .odt, .zip): save it as plain text first",
    b"%PDF": "a PDF: save it as plain text first",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
}


class UnreadableTextError(ValueError):
    """The bytes are not text in any encoding we can tell, or not in the one asked for."""


def decode_text(data: bytes, name: str, encoding: str = "") -> str:
    """``data`` as text: in ``encoding`` if given, else detected."""
    if encoding:
        try:
            return data.decode(encoding)
        except LookupError:
            raise UnreadableTextError(
                f"{name}: unknown encoding {encoding!r} (try utf-8, cp1256, iso-8859-6)"
            ) from None
        except UnicodeDecodeError as error:
            raise UnreadableTextError(
                f"{name} is not valid {encoding} (byte {error.start}); leave out --encoding to detect it"
            ) from None
    for bom, bom_encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(bom_encoding).removeprefix("\ufeff")
    for signature, kind in BINARY_SIGNATURES.items():
        if data.startswith(signature):
            raise UnreadableTextError(f"{name} is {kind}, not text")
    if b"\x00" in data:
        raise UnreadableTextError(f"{name} looks like binary data (it holds NUL bytes), not text")
    try:
        return data.decode("utf_8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=list(LIKELY_ENCODINGS)).best()
    if best is None:
        raise UnreadableTextError(f"{name} is not text in any encoding tried; if it is, name one with --encoding")
    return str(best)
