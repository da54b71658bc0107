"""HTML documents for translation: what to translate, and how to put it back.

The document is tokenised with the standard library's HTML parser, keeping every
token's place in the source, so everything that is not translated comes back
byte for byte: tags, attributes, entities, comments, ``<script>``, ``<style>``,
``<code>``, ``<pre>``, and elements marked ``translate="no"`` or ``class="notranslate"``.

What is translated:

* **Blocks.** The text of each block (a ``<p>``, a heading, a list item, a cell...)
  is translated as one text, inline tags (``<b>``, ``<a>``...) removed, so a sentence
  that runs across them is translated as one sentence. Entities are decoded for the
  model and the translation is escaped again.
* **Attributes** ``alt``, ``title``, ``aria-label`` and ``placeholder``, each as a text of its own.

Putting inline tags back: the model gives no word alignment, so each inline element's
own text is also translated alone (a *phrase*). Where that phrase's translation occurs
once in the block's translation, the tags go around it. Otherwise they go around the
words at the same relative position (a proportional guess, snapped to word edges):
every tag and attribute survives, in order and properly nested, but a guess can be a
word or two off.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser

# Content never translated, kept byte for byte.
OPAQUE = frozenset({"script", "style", "code", "pre", "kbd", "samp", "var", "textarea", "template", "svg", "math"})
# Elements whose text runs on across them: they stay inside a block.
INLINE = frozenset(
    {"a", "abbr", "b", "bdi", "bdo", "cite", "data", "del", "dfn", "em", "font", "i", "ins", "label", "mark",
     "q", "s", "small", "span", "strong", "sub", "sup", "time", "u", "wbr"}
)  # fmt: skip
TRANSLATABLE_ATTRIBUTES = ("alt", "title", "aria-label", "placeholder")
VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
)


@dataclass(frozen=True)
class Piece:
    """Text of a block: ``html[start:end]`` decodes to ``text`` (an entity is one piece)."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Mark:
    """Markup inside a block (a tag, a comment, an untranslated element with its content):
    ``html[start:end]``, found at plain-text offset ``plain``. The two tags of an inline
    element share a ``pair`` number; other marks have None."""

    start: int
    end: int
    plain: int
    pair: int | None = None


@dataclass
class Block:
    pieces: list[Piece] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(piece.text for piece in self.pieces)

    def _paired(self) -> list[Mark]:
        pairs = [mark.pair for mark in self.marks if mark.pair is not None]
        return [mark for mark in self.marks if mark.pair is not None and pairs.count(mark.pair) == 2]

    @property
    def start(self) -> int:
        """Where the rewritten range begins: the first text, or an inline element opening before it."""
        return min([self.pieces[0].start] + [mark.start for mark in self._paired()])

    @property
    def end(self) -> int:
        return max([self.pieces[-1].end] + [mark.end for mark in self._paired()])

    def inner_marks(self) -> list[Mark]:
        """Marks between the block's first and last text: rewritten with the translation."""
        return [mark for mark in self.marks if self.start <= mark.start and mark.end <= self.end]

    def html_range(self, plain_start: int, plain_end: int) -> tuple[int, int]:
        """Source offsets of plain-text range ``[plain_start, plain_end)`` (an entity is all or nothing)."""

        def locate(plain: int, *, end: bool) -> int:
            position = 0
            for piece in self.pieces:
                size = len(piece.text)
                if position + size > plain or (end and position + size == plain):
                    if size != piece.end - piece.start:  # an entity
                        return piece.end if end else piece.start
                    return piece.start + plain - position
                position += size
            return self.end

        return locate(plain_start, end=False), locate(plain_end, end=True)


@dataclass(frozen=True)
class Attribute:
    """A translatable attribute value: ``html[start:end]`` is the raw value, ``text`` decoded."""

    start: int
    end: int
    text: str

    def html_range(self, plain_start: int, plain_end: int) -> tuple[int, int]:
        """Source offsets of ``text[plain_start:plain_end]``; the whole value when entities make them differ."""
        if self.end - self.start == len(self.text):
            return self.start + plain_start, self.start + plain_end
        return self.start, self.end


@dataclass
class HtmlDocument:
    source: str
    blocks: list[Block]
    attributes: list[Attribute]
    # Whether untranslated elements (SVG, code, translate="no"...) hold text.
    untranslated_text: bool = False


class _Tokenizer(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self.source = source
        self._line_starts = [0] + [index + 1 for index, char in enumerate(source) if char == "\n"]
        self.blocks: list[Block] = []
        self.attributes: list[Attribute] = []
        self._block = Block()
        self._open_inline: list[tuple[str, int]] = []  # element name, index of its open mark
        self._opaque: list[str] = []
        self._opaque_start = 0
        self._plain = 0
        self._pairs = 0
        # A mark whose end is where the next token begins: (its block, its index there).
        self._open_end: tuple[Block, int] | None = None
        # Where the last token handled ends, when known: bytes between it and the next
        # token were reported to no handler (the parser drops "</>") and become a mark.
        self._covered: int | None = 0
        # Text inside untranslated elements (an SVG <text>, a <code>): the document is not empty.
        self.untranslated_text = False

    def _offset(self) -> int:
        """Where the token being handled begins; the mark before it, if open, ends there."""
        line, column = self.getpos()
        offset = self._line_starts[line - 1] + column
        self._end_gap(offset)
        self._covered = None  # the handler sets it when it knows where its token ends
        return offset

    def _end_gap(self, offset: int) -> None:
        """Close the open mark at ``offset``, or make unreported bytes before it a mark."""
        if self._open_end is not None:
            self._end_open_mark(offset)
        elif self._covered is not None and self._covered < offset and not self._opaque:
            self._mark(self._covered, offset)

    def _end_open_mark(self, offset: int) -> None:
        if self._open_end is not None:
            block, index = self._open_end
            block.marks[index] = dataclasses.replace(block.marks[index], end=offset)
            self._open_end = None

    def _close_block(self) -> None:
        if self._block.text.strip():
            self.blocks.append(self._block)
        self._block, self._open_inline, self._plain = Block(), [], 0

    def _mark(self, start: int, end: int | None = None, pair: int | None = None) -> None:
        """Markup at ``start``; with no ``end``, it runs to where the next token begins (the
        parser reports no end for end tags, comments, declarations... and every byte of the
        source belongs to some token, so each comes back byte for byte, however malformed)."""
        self._block.marks.append(Mark(start, start if end is None else end, self._plain, pair))
        if end is None:
            self._open_end = (self._block, len(self._block.marks) - 1)

    def _text(self, start: int, end: int, text: str) -> None:
        self._covered = end
        if not self._opaque:
            self._block.pieces.append(Piece(start, end, text))
            self._plain += len(text)
        elif text.strip():
            self.untranslated_text = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._offset()
        end = self._covered = start + len(self.get_starttag_text() or "")
        if self._opaque:
            if tag == self._opaque[-1] and tag not in VOID:
                self._opaque.append(tag)  # the same element nested: wait for its own end tag
            return
        self._attributes(start, end)
        values = dict(attrs)
        if tag in OPAQUE or values.get("translate") == "no" or "notranslate" in (values.get("class") or "").split():
            if tag in VOID:
                self._mark(start, end)
            else:
                self._opaque, self._opaque_start = [tag], start
        elif tag in INLINE and tag not in VOID:
            self._open_inline.append((tag, len(self._block.marks)))
            self._mark(start, end)
        elif tag in INLINE or tag == "img":
            self._mark(start, end)  # an image or <wbr> sits inside the sentence
        else:
            self._close_block()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._offset()
        end = self._covered = start + len(self.get_starttag_text() or "")
        if self._opaque:
            return
        self._attributes(start, end)
        if tag in INLINE or tag == "img":
            self._mark(start, end)
        else:
            self._close_block()

    def handle_endtag(self, tag: str) -> None:
        start = self._offset()
        end = None  # where the next token begins
        if self._opaque:
            if tag == self._opaque[-1]:
                self._opaque.pop()
                if not self._opaque:  # the untranslated element, content and all, is one mark
                    self._mark(self._opaque_start, end)
            return
        if tag not in INLINE:
            self._close_block()
            return
        for position in range(len(self._open_inline) - 1, -1, -1):
            name, mark_index = self._open_inline[position]
            if name == tag:
                opening = self._block.marks[mark_index]
                self._block.marks[mark_index] = Mark(opening.start, opening.end, opening.plain, self._pairs)
                self._mark(start, end, self._pairs)
                self._pairs += 1
                del self._open_inline[position:]  # elements left open inside it stay single marks
                return
        self._mark(start, end)  # a stray end tag

    def handle_data(self, data: str) -> None:
        start = self._offset()
        self._text(start, start + len(data), data)

    def handle_entityref(self, name: str) -> None:
        start = self._offset()
        end = start + len(name) + 1
        if self.source[end : end + 1] == ";":
            end += 1
        self._text(start, end, html.unescape(self.source[start:end]))

    def handle_charref(self, name: str) -> None:
        self.handle_entityref("#" + name)

    def _markup(self, data: str) -> None:
        """A comment (bogus ones such as ``<!x>`` too), a declaration, a processing
        instruction, a CDATA section: kept as they are, where they are."""
        start = self._offset()
        if not self._opaque:
            self._mark(start)

    def handle_comment(self, data: str) -> None:
        self._markup(data)

    def handle_decl(self, decl: str) -> None:
        self._markup(decl)

    def handle_pi(self, data: str) -> None:
        self._markup(data)

    def unknown_decl(self, data: str) -> None:
        self._markup(data)

    def _attributes(self, tag_start: int, tag_end: int) -> None:
        raw = self.source[tag_start:tag_end]
        for name, value_start, value_end in _attribute_values(raw):
            if name in TRANSLATABLE_ATTRIBUTES:
                text = html.unescape(raw[value_start:value_end])
                if text.strip():
                    self.attributes.append(Attribute(tag_start + value_start, tag_start + value_end, text))

    def close(self) -> None:
        super().close()
        self._end_gap(len(self.source))
        self._close_block()


def _attribute_values(tag: str) -> list[tuple[str, int, int]]:
    """(name, value start, value end) of each valued attribute in the text of one start tag."""
    found: list[tuple[str, int, int]] = []
    index, length = 1, len(tag)
    while index < length and not tag[index].isspace() and tag[index] not in "/>":
        index += 1  # the element name
    while index < length:
        while index < length and (tag[index].isspace() or tag[index] == "/"):
            index += 1
        name_start = index
        while index < length and not tag[index].isspace() and tag[index] not in "=>/":
            index += 1
        name = tag[name_start:index].lower()
        while index < length and tag[index].isspace():
            index += 1
        if index >= length or tag[index] == ">" or not name:
            break
        if tag[index] != "=":
            continue  # a bare attribute such as "hidden"
        index += 1
        while index < length and tag[index].isspace():
            index += 1
        if index < length and tag[index] in "\"'":
            close = tag.find(tag[index], index + 1)
            close = length if close < 0 else close
            found.append((name, index + 1, close))
            index = close + 1
        else:
            value_start = index
            while index < length and not tag[index].isspace() and tag[index] != ">":
                index += 1
            found.append((name, value_start, index))
    return found


def parse(source: str) -> HtmlDocument:
    tokenizer = _Tokenizer(source)
    tokenizer.feed(source)
    tokenizer.close()
    return HtmlDocument(source, tokenizer.blocks, tokenizer.attributes, tokenizer.untranslated_text)


def document_text(source: str) -> str:
    """What a reader of the HTML document reads: its blocks' text, one a line, without tags,
    attributes, scripts or styles (what a summary of it should be written from)."""
    return "\n".join(block.text for block in parse(source).blocks)


def _snap(text: str, position: int) -> int:
    """The word edge nearest ``position`` in ``text``."""
    position = max(0, min(len(text), position))

    def inside_word(index: int) -> bool:
        return 0 < index < len(text) and not text[index - 1].isspace() and not text[index].isspace()

    left = right = position
    while inside_word(left):
        left -= 1
    while inside_word(right):
        right += 1
    return left if position - left <= right - position else right


def place_marks(block: Block, translation: str, phrases: dict[int, str]) -> list[tuple[int, Mark]]:
    """Where each inner mark of ``block`` goes in ``translation``, in insertion order.

    An inline element whose phrase (``phrases[pair]``, its text translated alone) occurs
    once in the translation wraps it; everything else keeps its relative position."""
    scale = len(translation) / max(len(block.text), 1)
    marks = block.inner_marks()
    position = {id(mark): _snap(translation, round(mark.plain * scale)) for mark in marks}
    lower = translation.lower()
    by_pair: dict[int, list[Mark]] = {}
    for mark in marks:
        if mark.pair is not None:
            by_pair.setdefault(mark.pair, []).append(mark)
    for pair, tags in by_pair.items():
        phrase = phrases.get(pair, "").strip().lower()
        if len(tags) == 2 and phrase and lower.count(phrase) == 1:
            where = lower.find(phrase)
            position[id(tags[0])], position[id(tags[1])] = where, where + len(phrase)
    # Never cross: each mark at or after the one before it in the source, so nesting holds.
    placed: list[tuple[int, Mark]] = []
    floor = 0
    for mark in marks:
        floor = max(floor, position[id(mark)])
        placed.append((floor, mark))
    return placed


def _with_attributes(document: HtmlDocument, start: int, end: int, attributes: dict[int, tuple[int, str]]) -> str:
    """``html[start:end]`` with the translated attribute values inside it (escaped)."""
    out, position = [], start
    for value_start in sorted(key for key in attributes if start <= key < end):
        value_end, translation = attributes[value_start]
        out += [document.source[position:value_start], html.escape(translation, quote=True)]
        position = value_end
    out.append(document.source[position:end])
    return "".join(out)


def render_block(
    document: HtmlDocument,
    block: Block,
    translation: str,
    phrases: dict[int, str],
    attributes: dict[int, tuple[int, str]] | None = None,
) -> str:
    """The block's source range rewritten: its leading and trailing whitespace kept, the
    translation escaped, and every inner mark at its placed position, as in the source
    but for translated attribute values (``attributes``: value start → (value end, text))."""
    source = block.text
    lead = source[: len(source) - len(source.lstrip())]
    trail = source[len(source.rstrip()) :]
    out, position = [lead], 0
    for where, mark in place_marks(block, translation, phrases):
        out += [
            html.escape(translation[position:where], quote=False),
            _with_attributes(document, mark.start, mark.end, attributes or {}),
        ]
        position = where
    out += [html.escape(translation[position:], quote=False), trail]
    return "".join(out)


def rebuild(
    document: HtmlDocument,
    block_translations: Sequence[str | None],
    attribute_translations: Sequence[str | None],
    phrases: Sequence[dict[int, str]],
) -> str:
    """The document with every block and translatable attribute replaced, the rest byte for
    byte. A ``None`` translation (text passed through) keeps that block or value as it was."""
    attributes = {
        attribute.start: (attribute.end, translation)
        for attribute, translation in zip(document.attributes, attribute_translations, strict=True)
        if translation is not None
    }
    out, position = [], 0
    for block, translation, block_phrases in zip(document.blocks, block_translations, phrases, strict=True):
        rewritten = (
            _with_attributes(document, block.start, block.end, attributes)
            if translation is None
            else render_block(document, block, translation, block_phrases, attributes)
        )
        out += [_with_attributes(document, position, block.start, attributes), rewritten]
        position = block.end
    out.append(_with_attributes(document, position, len(document.source), attributes))
    return "".join(out)


def phrase_texts(block: Block) -> dict[int, str]:
    """Each inline element's own text (by pair number), to translate alone for placing its tags."""
    texts: dict[int, str] = {}
    opened: dict[int, int] = {}
    for mark in block.inner_marks():
        if mark.pair is None:
            continue
        if mark.pair in opened:
            text = block.text[opened[mark.pair] : mark.plain]
            if any(char.isalpha() for char in text):
                texts[mark.pair] = text.strip()
        else:
            opened[mark.pair] = mark.plain
    return texts
