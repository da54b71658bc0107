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

Putting inline tags back: with word alignment asked for, an inline element's tags go
around the words aligned to its words (``core.alignment``). Otherwise, and where the
alignment places nothing, each inline element's own text is also translated alone (a
*phrase*). Where that phrase's translation occurs once in the block's translation, the
tags go around it. Otherwise they go around the words at the same relative position (a
proportional guess, snapped to word edges): every tag and attribute survives, in order
and properly nested, but a guess can be a word or two off.
"""

from __future__ import annotations

import bisect
import functools
import html
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
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
# Inline elements' phrases translated per block, at most this many times the block's own text in
# characters (shortest first): nesting three deep everywhere fits; deeper nesting would make the
# model read the same words again and again, and its outer elements' tags are placed by position.
PHRASE_BUDGET = 3
# Tokens the tokenizer handles between two calls of its ``check`` (a cancellation point).
CHECK_EVERY = 256
_SPACE = re.compile(r"\s")  # what str.isspace() calls white space (the same set of characters)


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
    """A block's text (``pieces``) and the markup inside it (``marks``). What is derived from them
    is worked out once, on first use, after the tokenizer has finished with the block."""

    pieces: list[Piece] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)

    @functools.cached_property
    def text(self) -> str:
        return "".join(piece.text for piece in self.pieces)

    @functools.cached_property
    def _bounds(self) -> tuple[int, int]:
        """Where the rewritten range begins and ends: the first and last text, or an inline
        element opening before it or closing after it (one whose two tags are both here)."""
        pairs = Counter(mark.pair for mark in self.marks if mark.pair is not None)
        paired = [mark for mark in self.marks if mark.pair is not None and pairs[mark.pair] == 2]
        start = min([self.pieces[0].start] + [mark.start for mark in paired])
        end = max([self.pieces[-1].end] + [mark.end for mark in paired])
        return start, end

    @property
    def start(self) -> int:
        return self._bounds[0]

    @property
    def end(self) -> int:
        return self._bounds[1]

    @functools.cached_property
    def _inner_marks(self) -> list[Mark]:
        start, end = self._bounds
        return [mark for mark in self.marks if start <= mark.start and mark.end <= end]

    def inner_marks(self) -> list[Mark]:
        """Marks between the block's first and last text: rewritten with the translation."""
        return list(self._inner_marks)

    @functools.cached_property
    def _plain_ends(self) -> list[int]:
        """The plain-text offset where each piece ends (a running total, for bisection)."""
        ends, position = [], 0
        for piece in self.pieces:
            position += len(piece.text)
            ends.append(position)
        return ends

    def html_range(self, plain_start: int, plain_end: int) -> tuple[int, int]:
        """Source offsets of plain-text range ``[plain_start, plain_end)`` (an entity is all or nothing)."""

        def locate(plain: int, *, end: bool) -> int:
            # The first piece ending past ``plain`` (at it too, for an end): a bisection.
            ends = self._plain_ends
            index = (bisect.bisect_left if end else bisect.bisect_right)(ends, plain)
            if index == len(ends):
                return self.end
            piece = self.pieces[index]
            size = len(piece.text)
            if size != piece.end - piece.start:  # an entity
                return piece.end if end else piece.start
            return piece.start + plain - (ends[index] - size)

        return locate(plain_start, end=False), locate(plain_end, end=True)

    @functools.cached_property
    def _phrases(self) -> tuple[Phrase, ...]:
        return _find_phrases(self)


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
    def __init__(self, source: str, check: Callable[[], None] | None = None) -> None:
        super().__init__(convert_charrefs=False)
        self.source = source
        self._check = check
        self._tokens = 0
        self._line_starts = [0] + [match.end() for match in re.finditer("\n", source)]
        self.blocks: list[Block] = []
        self.attributes: list[Attribute] = []
        self._block = Block()
        self._open_inline: list[tuple[str, int]] = []  # element name, index of its open mark
        # Where each element name is open in ``_open_inline`` (innermost last): an end tag finds
        # its element at once, however many others are open.
        self._open_by_name: dict[str, list[int]] = {}
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
        self._tokens += 1
        if self._check is not None and self._tokens % CHECK_EVERY == 0:
            self._check()  # raises to stop: the caller left
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
            mark = block.marks[index]
            block.marks[index] = Mark(mark.start, offset, mark.plain, mark.pair)
            self._open_end = None

    def _close_block(self) -> None:
        if self._block.text.strip():
            self.blocks.append(self._block)
        self._block, self._open_inline, self._open_by_name, self._plain = Block(), [], {}, 0

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
            self._open_by_name.setdefault(tag, []).append(len(self._open_inline))
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
        positions = self._open_by_name.get(tag)
        if not positions:
            self._mark(start, end)  # a stray end tag
            return
        position = positions[-1]  # the innermost element of that name
        mark_index = self._open_inline[position][1]
        opening = self._block.marks[mark_index]
        self._block.marks[mark_index] = Mark(opening.start, opening.end, opening.plain, self._pairs)
        self._mark(start, end, self._pairs)
        self._pairs += 1
        while len(self._open_inline) > position:  # elements left open inside it stay single marks
            name, _ = self._open_inline.pop()
            self._open_by_name[name].pop()

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


def parse(source: str, check: Callable[[], None] | None = None) -> HtmlDocument:
    """The document's blocks and translatable attributes. ``check`` is called every few hundred
    tokens and may raise to stop the work (a cancellation point); parsing takes linear time."""
    tokenizer = _Tokenizer(source, check)
    tokenizer.feed(source)
    tokenizer.close()
    return HtmlDocument(source, tokenizer.blocks, tokenizer.attributes, tokenizer.untranslated_text)


def document_text(source: str) -> str:
    """What a reader of the HTML document reads: its blocks' text, one a line, without tags,
    attributes, scripts or styles (what a summary of it should be written from)."""
    return "\n".join(block.text for block in parse(source).blocks)


class _WordEdges:
    """The word edges of a text (its ends, and either side of each white-space character), to
    find the one nearest a position by bisection rather than by walking through the word."""

    def __init__(self, text: str) -> None:
        self.size = len(text)
        self.edges = [0] + [match.start() + side for match in _SPACE.finditer(text) for side in (0, 1)] + [self.size]

    def snap(self, position: int) -> int:
        """The word edge nearest ``position`` (the left one on a tie)."""
        position = max(0, min(self.size, position))
        right_index = bisect.bisect_left(self.edges, position)
        right = self.edges[right_index]
        left = right if right == position else self.edges[right_index - 1]
        return left if position - left <= right - position else right


def _sole_occurrences(text: str, patterns: Iterable[str]) -> dict[str, int]:
    """Where each pattern that ``text.count(pattern)`` would count once begins in ``text``.

    In time linear in the text and the patterns (an Aho-Corasick automaton), where a ``count``
    per pattern reads the whole text for each of them. The automaton's state after each
    character is the longest pattern prefix ending there; a pattern ends there exactly when its
    node lies on that state's chain of suffix links. So each node's first and last visits,
    carried up the suffix-link tree, are each pattern's first and last occurrence; one
    non-overlapping occurrence means the last begins before the first ends."""
    goto: list[dict[str, int]] = [{}]
    nodes: dict[str, int] = {}
    for pattern in patterns:
        if not pattern or pattern in nodes:
            continue
        node = 0
        for char in pattern:
            following = goto[node].get(char)
            if following is None:
                following = goto[node][char] = len(goto)
                goto.append({})
            node = following
        nodes[pattern] = node
    if not nodes:
        return {}
    link = [0] * len(goto)
    order: list[int] = []  # breadth first: a node's suffix link is shallower, so comes before it
    frontier = list(goto[0].values())
    while frontier:
        order += frontier
        deeper = []
        for node in frontier:
            for char, child in goto[node].items():
                fallback = link[node]
                while fallback and char not in goto[fallback]:
                    fallback = link[fallback]
                link[child] = goto[fallback].get(char, 0)
                deeper.append(child)
        frontier = deeper
    first = [-1] * len(goto)
    last = [-1] * len(goto)
    state = 0
    for index, char in enumerate(text):
        while state and char not in goto[state]:
            state = link[state]
        state = goto[state].get(char, 0)
        if first[state] < 0:
            first[state] = index
        last[state] = index
    for node in reversed(order):  # deepest first: each passes its visits to its suffix link
        parent = link[node]
        if first[node] >= 0:
            if first[parent] < 0 or first[node] < first[parent]:
                first[parent] = first[node]
            last[parent] = max(last[parent], last[node])
    found = {}
    for pattern, node in nodes.items():
        if first[node] >= 0:
            size = len(pattern)
            begins, last_begins = first[node] - size + 1, last[node] - size + 1
            if last_begins < begins + size:
                found[pattern] = begins
    return found


def place_marks(
    block: Block, translation: str, phrases: dict[int, str], aligned: Mapping[int, tuple[int, int]] | None = None
) -> list[tuple[int, Mark]]:
    """Where each inner mark of ``block`` goes in ``translation``, in insertion order.

    An inline element with a range in ``aligned`` (by pair: the words aligned to its source
    words, from the model's word alignment) wraps that range; else one whose phrase
    (``phrases[pair]``, its text translated alone) occurs once in the translation wraps it;
    everything else keeps its relative position."""
    scale = len(translation) / max(len(block.text), 1)
    marks = block.inner_marks()
    if not marks:
        return []
    edges = _WordEdges(translation)
    position = [edges.snap(round(mark.plain * scale)) for mark in marks]
    lower = translation.lower()
    by_pair: dict[int, list[int]] = {}
    for index, mark in enumerate(marks):
        if mark.pair is not None:
            by_pair.setdefault(mark.pair, []).append(index)
    aligned = aligned or {}
    wanted = {  # the phrases looked for: of pairs the alignment did not place
        pair: phrase
        for pair, tags in by_pair.items()
        if len(tags) == 2 and pair not in aligned and (phrase := phrases.get(pair, "").strip().lower())
    }
    sole = _sole_occurrences(lower, wanted.values())
    for pair, phrase in wanted.items():
        where = sole.get(phrase)
        if where is not None:
            opening, closing = by_pair[pair]
            position[opening], position[closing] = where, where + len(phrase)
    for pair, (start, end) in aligned.items():
        tags = by_pair.get(pair, [])
        if len(tags) == 2:
            position[tags[0]], position[tags[1]] = start, end
    # Never cross: each mark at or after the one before it in the source, so nesting holds.
    placed: list[tuple[int, Mark]] = []
    floor = 0
    for where, mark in zip(position, marks, strict=True):
        floor = max(floor, where)
        placed.append((floor, mark))
    return placed


class _AttributeValues:
    """Translated attribute values (value start → (value end, text)), found by range in
    logarithmic time: a document with many attributes and many marks stays linear."""

    def __init__(self, values: dict[int, tuple[int, str]]) -> None:
        self.values = values
        self.starts = sorted(values)

    def within(self, start: int, end: int) -> list[int]:
        return self.starts[bisect.bisect_left(self.starts, start) : bisect.bisect_left(self.starts, end)]


def _with_attributes(document: HtmlDocument, start: int, end: int, attributes: _AttributeValues) -> str:
    """``html[start:end]`` with the translated attribute values inside it (escaped)."""
    out, position = [], start
    for value_start in attributes.within(start, end):
        value_end, translation = attributes.values[value_start]
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
    return _render_block(document, block, translation, phrases, _AttributeValues(attributes or {}))


def _render_block(
    document: HtmlDocument,
    block: Block,
    translation: str,
    phrases: dict[int, str],
    attributes: _AttributeValues,
    aligned: Mapping[int, tuple[int, int]] | None = None,
) -> str:
    source = block.text
    lead = source[: len(source) - len(source.lstrip())]
    trail = source[len(source.rstrip()) :]
    out, position = [lead], 0
    for where, mark in place_marks(block, translation, phrases, aligned):
        out += [
            html.escape(translation[position:where], quote=False),
            _with_attributes(document, mark.start, mark.end, attributes),
        ]
        position = where
    out += [html.escape(translation[position:], quote=False), trail]
    return "".join(out)


def rebuild(
    document: HtmlDocument,
    block_translations: Sequence[str | None],
    attribute_translations: Sequence[str | None],
    phrases: Sequence[dict[int, str]],
    aligned: Sequence[Mapping[int, tuple[int, int]]] | None = None,
) -> str:
    """The document with every block and translatable attribute replaced, the rest byte for
    byte. A ``None`` translation (text passed through) keeps that block or value as it was.
    ``aligned``: per block, inline elements' ranges in its translation (see ``place_marks``)."""
    attributes = _AttributeValues(
        {
            attribute.start: (attribute.end, translation)
            for attribute, translation in zip(document.attributes, attribute_translations, strict=True)
            if translation is not None
        }
    )
    out, position = [], 0
    ranges = aligned if aligned is not None else [{}] * len(document.blocks)
    for block, translation, block_phrases, block_ranges in zip(
        document.blocks, block_translations, phrases, ranges, strict=True
    ):
        rewritten = (
            _with_attributes(document, block.start, block.end, attributes)
            if translation is None
            else _render_block(document, block, translation, block_phrases, attributes, block_ranges)
        )
        out += [_with_attributes(document, position, block.start, attributes), rewritten]
        position = block.end
    out.append(_with_attributes(document, position, len(document.source), attributes))
    return "".join(out)


@dataclass(frozen=True)
class Phrase:
    """An inline element's own text, to translate alone for placing its tags: ``text`` begins at
    plain-text offset ``plain`` of its block."""

    pair: int
    plain: int
    text: str


def phrases(block: Block) -> tuple[Phrase, ...]:
    """The phrases of a block's inline elements (those with letters), in order of their closing
    tags: the shortest first while they fit ``PHRASE_BUDGET`` times the block's text. Worked out
    once per block: the planner asks for them, then each of the block's segments when placing tags."""
    return block._phrases


def _find_phrases(block: Block) -> tuple[Phrase, ...]:
    bounds: list[tuple[int, int, int]] = []  # pair, plain start, plain end
    opened: dict[int, int] = {}
    for mark in block.inner_marks():
        if mark.pair is None:
            continue
        if mark.pair in opened:
            bounds.append((mark.pair, opened[mark.pair], mark.plain))
        else:
            opened[mark.pair] = mark.plain
    budget = PHRASE_BUDGET * len(block.text)
    kept = set()
    for pair, start, end in sorted(bounds, key=lambda bound: (bound[2] - bound[1], bound[0])):
        budget -= end - start
        if budget < 0:
            break
        kept.add(pair)
    found = []
    text = block.text
    for pair, start, end in bounds:
        if pair not in kept:
            continue
        raw = text[start:end]
        if any(char.isalpha() for char in raw):
            stripped = raw.lstrip()
            found.append(Phrase(pair, start + len(raw) - len(stripped), stripped.rstrip()))
    return tuple(found)
