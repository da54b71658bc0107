"""The desk's exchange formats, read and written as pure functions: TMX 1.4 (translation
memory, what every CAT tool reads) and glossary files (TSV, CSV, TBX).

XML is read with ``defusedxml``: a document that declares entities (internal ones, as in
"billion laughs", or external ones that would read a file or a URL) is refused before any
expansion, whatever the parser's version. Every error names where the document is bad.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape, quoteattr

import defusedxml
import defusedxml.ElementTree as safe_xml

from .. import __version__
from ..errors import InvalidRequestError
from ..text.languages import normalize_language

if TYPE_CHECKING:
    from .desk import DeskLimits, MemoryEntry

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# Inline TMX elements whose content is native markup (a tag, a placeholder), not text.
_MARKUP_ELEMENTS = {"bpt", "ept", "it", "ph", "ut"}
TSV = "text/tab-separated-values"
CSV = "text/csv"
TBX = "application/x-tbx"
GLOSSARY_MEDIA_TYPES = {
    TSV: TSV,
    "text/tsv": TSV,
    CSV: CSV,
    TBX: TBX,
    "application/tbx+xml": TBX,
    "application/xml": TBX,
    "text/xml": TBX,
}
_HEADERS = {("source", "target"), ("term", "translation"), ("source", "rendering")}


@dataclass(frozen=True)
class TmxUnit:
    where: str  # "tu 3 (tuid 'x')": for messages
    source: str
    translation: str
    note: str = ""
    approver: str = ""


# Reading glossary files.


def read_glossary(data: bytes, media_type: str, max_entries: int) -> dict[str, str]:
    """Term → rendering from a glossary file, or InvalidRequestError naming the line or entry."""
    kind = GLOSSARY_MEDIA_TYPES.get(media_type.split(";")[0].strip().lower())
    if kind is None:
        raise InvalidRequestError(f"file_media_type {media_type!r} is not a glossary format: use {TSV}, {CSV} or {TBX}")
    if kind == TBX:
        pairs = _tbx_pairs(data)
    else:
        text = _decode(data, "the glossary file")
        rows = csv.reader(io.StringIO(text, newline=""), delimiter="\t" if kind == TSV else ",", strict=True)
        pairs = _table_pairs(rows, kind)
    entries: dict[str, str] = {}
    seen: dict[str, str] = {}
    for where, term, rendering in pairs:
        term, rendering = term.strip(), rendering.strip()
        if not term or not rendering:
            raise InvalidRequestError(f"the glossary file, {where}: both the term and its rendering must hold text")
        if term in entries and entries[term] != rendering:
            raise InvalidRequestError(
                f"the glossary file, {where}: {term[:40]!r} was already given ({seen[term]}) another rendering"
            )
        entries[term] = rendering
        seen.setdefault(term, where)
        if len(entries) > max_entries:
            raise InvalidRequestError(
                f"the glossary file has more than {max_entries} entries (max_glossary_entries), at {where}"
            )
    return entries


def _table_pairs(rows: Iterable[list[str]], kind: str) -> Iterator[tuple[str, str, str]]:
    try:
        for number, row in enumerate(rows, 1):
            if not row or not "".join(row).strip() or row[0].startswith("#"):
                continue
            if len(row) != 2:
                raise InvalidRequestError(
                    f"the glossary file, line {number}: {len(row)} columns; each line is a term and its rendering, "
                    f"separated by {'a tab' if kind == TSV else 'a comma'}"
                )
            if number == 1 and tuple(cell.strip().lower() for cell in row) in _HEADERS:
                continue
            yield f"line {number}", row[0], row[1]
    except csv.Error as error:
        raise InvalidRequestError(f"the glossary file is not valid {kind}: {error}") from None


def _tbx_pairs(data: bytes) -> Iterator[tuple[str, str, str]]:
    """The first term of the first two languages of each entry (TBX 2 termEntry/langSet/tig,
    TBX 3 conceptEntry/langSec/termSec)."""
    root = _parse(data, "the TBX file")
    languages: list[str] = []
    for number, entry in enumerate((e for e in root.iter() if _local(e.tag) in ("termEntry", "conceptEntry")), 1):
        terms: dict[str, str] = {}
        for section in entry:
            if _local(section.tag) not in ("langSet", "langSec"):
                continue
            language = section.get(XML_LANG) or section.get("lang") or ""
            term = next((t for t in section.iter() if _local(t.tag) == "term"), None)
            if term is not None and language and language not in terms:
                terms[language] = "".join(term.itertext())
        where = f"entry {number}" + (f" (id {entry.get('id')!r})" if entry.get("id") else "")
        if len(terms) < 2:
            raise InvalidRequestError(f"the TBX file, {where}: needs a term in two languages")
        if not languages:
            languages = list(terms)[:2]
        if languages[0] not in terms or languages[1] not in terms:
            raise InvalidRequestError(f"the TBX file, {where}: has no term in {' or '.join(languages)}")
        yield where, terms[languages[0]], terms[languages[1]]
    if not languages:
        raise InvalidRequestError("the TBX file holds no termEntry (TBX 2) or conceptEntry (TBX 3)")


# Reading TMX.


def read_tmx(data: bytes, source_language: str, target_language: str, limits: DeskLimits) -> list[TmxUnit]:
    """Every ``<tu>`` of a TMX document as a ``source_language`` → ``target_language`` pair, or
    InvalidRequestError naming where the document is bad (nothing is stored then)."""
    root = _parse(data, "the TMX document")
    if _local(root.tag) != "tmx":
        raise InvalidRequestError(f"the TMX document's root element is <{_local(root.tag)}>, not <tmx>")
    body = next((child for child in root if _local(child.tag) == "body"), None)
    if body is None:
        raise InvalidRequestError("the TMX document has no <body>")
    header = next((child for child in root if _local(child.tag) == "header"), None)
    header_source = (header.get("srclang") or "") if header is not None else ""
    units = []
    for number, unit in enumerate((child for child in body if _local(child.tag) == "tu"), 1):
        where = f"tu {number}" + (f" (tuid {unit.get('tuid')!r})" if unit.get("tuid") else "")
        if number > limits.max_tmx_units:
            raise InvalidRequestError(
                f"the TMX document has more than {limits.max_tmx_units} units (max_tmx_units), at {where}: "
                "split it into several imports"
            )
        segments: dict[str, str] = {}
        for variant in unit:
            if _local(variant.tag) != "tuv":
                continue
            language = _language(variant.get(XML_LANG) or variant.get("lang") or header_source)
            seg = next((child for child in variant if _local(child.tag) == "seg"), None)
            if seg is None:
                raise InvalidRequestError(f"the TMX document, {where}: a <tuv> has no <seg>")
            if language and language not in segments:
                segments[language] = _seg_text(seg)
        texts = []
        for language in (source_language, target_language):
            text = segments.get(language, "")
            if not text.strip():
                raise InvalidRequestError(f"the TMX document, {where}: no {language!r} segment with text")
            if len(text) > limits.max_text_chars:
                raise InvalidRequestError(
                    f"the TMX document, {where}: the {language!r} segment has {len(text)} characters, over the "
                    f"desk's limit of {limits.max_text_chars}"
                )
            texts.append(text)
        note = next(("".join(n.itertext()).strip() for n in unit if _local(n.tag) == "note"), "")
        approver = (unit.get("changeid") or unit.get("creationid") or "").strip()
        units.append(TmxUnit(where, texts[0], texts[1].strip(), note[: limits.max_text_chars], approver[:100]))
    if not units:
        raise InvalidRequestError("the TMX document's <body> holds no <tu>")
    return units


def _seg_text(seg: Element) -> str:
    """A ``<seg>``'s text: its own and that of <hi>/<sub>, not the native markup of <bpt>, <ph>..."""
    parts = [seg.text or ""]
    for child in seg:
        if _local(child.tag) not in _MARKUP_ELEMENTS:
            parts.append(_seg_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


@functools.lru_cache(maxsize=256)
def _language(code: str) -> str:
    try:
        return normalize_language(code, "xml:lang")
    except InvalidRequestError:
        return code.strip().lower()


def _parse(data: bytes, what: str) -> Element:
    try:
        return safe_xml.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as error:
        raise InvalidRequestError(
            f"{what} declares entities ({type(error).__name__}): entity declarations are refused, "
            "internal (entity expansion) and external alike"
        ) from None
    except ParseError as error:
        line, column = error.position
        raise InvalidRequestError(f"{what} is not well-formed XML at line {line}, column {column + 1}") from None


def _local(tag: object) -> str:
    """An element's name without its namespace (TBX 3 and some TMX writers use one)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _decode(data: bytes, what: str) -> str:
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            data, codec = data[len(bom) :], encoding
            break
    else:
        codec = "utf-8"
    try:
        return data.decode(codec)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InvalidRequestError(f"{what} is not {codec.upper()} text (line {line}): save it as UTF-8") from None


# Writing TMX.

TMX_FOOTER = b"</body>\n</tmx>\n"


def tmx_header(memory: str) -> bytes:
    """The document up to its first unit; srclang ``*all*``: a memory may hold several language pairs."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<tmx version="1.4">\n'
        f'<header creationtool="Tarjama" creationtoolversion={quoteattr(__version__)} datatype="plaintext" '
        'segtype="sentence" adminlang="en" srclang="*all*" o-tmf="Tarjama">\n'
        f'<prop type="x-tarjama-memory">{escape(memory)}</prop>\n</header>\n<body>\n'
    ).encode()


def tmx_units(entries: Iterable[MemoryEntry]) -> bytes:
    parts = []
    for entry in entries:
        approver = f" changeid={quoteattr(entry.approver)}" if entry.approver else ""
        note = f"<note>{escape(entry.note)}</note>" if entry.note else ""
        parts.append(
            f'<tu tuid="{entry.id}" creationdate="{_tmx_time(entry.created)}" '
            f'changedate="{_tmx_time(entry.updated)}"{approver}>{note}'
            f"<tuv xml:lang={quoteattr(entry.source_language)}><seg>{escape(entry.source)}</seg></tuv>"
            f"<tuv xml:lang={quoteattr(entry.target_language)}><seg>{escape(entry.translation)}</seg></tuv></tu>\n"
        )
    return "".join(parts).encode()


def _tmx_time(moment: datetime) -> str:
    """TMX's date form, YYYYMMDDThhmmssZ (UTC)."""
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
