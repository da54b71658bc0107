"""HTML handling without a model: what is extracted, and how translations are put back."""

from __future__ import annotations

import time
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tarjama_server.text.markup import PHRASE_BUDGET, Block, parse, rebuild
from tarjama_server.text.markup import phrases as phrases_of

ARTICLE = (Path(__file__).parent / "data" / "article.html").read_text(encoding="utf-8")
# What tests/data/article.html holds that must come back byte for byte.
UNTOUCHED = (
    "<style>p { color: red; }</style>",
    '<script>var s = "<p>لا</p>";</script>',
    "<code>x = 1</code>",
    "<!-- note -->",
    '<li translate="no">لا تترجم</li>',
    'href="https://example.com/?a=1&amp;b=2"',
)


def phrase_texts(block: Block) -> dict[int, str]:
    """Each inline element's own text (by pair number), to translate alone for placing its tags."""
    return {phrase.pair: phrase.text for phrase in phrases_of(block)}


class Tags(HTMLParser):
    """Every tag with its attributes, in order, and whether the nesting is well formed."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, ...]] = []
        self.stack: list[str] = []
        self.balanced = True
        self.feed(source)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(("start", tag, *(f"{k}={v}" for k, v in attrs if k not in ("alt", "title"))))
        if tag not in ("img", "br", "meta", "link", "hr", "input"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        self.tags.append(("end", tag))
        self.balanced &= bool(self.stack) and self.stack.pop() == tag


def translate_all(source: str, block_text: str = "one two three four five six.") -> str:
    document = parse(source)
    return rebuild(
        document,
        [block_text for _ in document.blocks],
        ["translated attribute" for _ in document.attributes],
        [{} for _ in document.blocks],
    )


def test_blocks_attributes_and_untouchable_content_are_found() -> None:
    document = parse(ARTICLE)
    assert [block.text.strip() for block in document.blocks] == [
        "عنوان الصفحة",
        "حلب تحت سيطرة النظام",
        'قال المتحدث باسم الأمم المتحدة إن الوضع "صعب".  وأضاف  أن العملية مستمرة.',
        "البند الأول",
    ]
    assert [attribute.text for attribute in document.attributes] == ["رابط مهم", "صورة من حلب"]
    assert phrase_texts(document.blocks[2]) == {1: "المتحدث باسم الأمم المتحدة", 2: "مستمرة", 3: "العملية مستمرة"}


def test_everything_but_text_comes_back_intact() -> None:
    output = translate_all(ARTICLE)
    assert Tags(output).tags == Tags(ARTICLE).tags and Tags(output).balanced
    for kept in (*UNTOUCHED, "<!DOCTYPE html>"):
        assert kept in output
    assert 'title="translated attribute"' in output and 'alt="translated attribute"' in output
    assert "حلب" not in output.replace("لا تترجم", "").replace("<p>لا</p>", "")


def test_translations_are_escaped_and_phrases_place_tags() -> None:
    source = '<p><a href="x">حلب</a> تحت سيطرة <b>النظام</b></p><p>ok</p>'
    document = parse(source)
    output = rebuild(
        document, ["Aleppo under the control of the regime", "a < b & c"], [], [{0: "Aleppo", 1: "the regime"}, {}]
    )
    assert output == '<p><a href="x">Aleppo</a> under the control of <b>the regime</b></p><p>a &lt; b &amp; c</p>'


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["p", "li", "h2", "td"]),
            st.lists(
                st.tuples(st.sampled_from(["", "b", "a", "i"]), st.text("حلب تحت ab &<", min_size=1, max_size=12)),
                max_size=5,
            ),
        ),
        max_size=6,
    ),
    st.text("xyz <>&", max_size=30),
)
def test_any_document_keeps_its_tags_in_order_and_nested(blocks, translation: str) -> None:
    import html

    source = "".join(
        f"<{name}>"
        + "".join(f"<{tag}>{html.escape(text)}</{tag}>" if tag else html.escape(text) for tag, text in runs)
        + f"</{name}>"
        for name, runs in blocks
    )
    output = translate_all(source, translation or "x")
    assert Tags(output).tags == Tags(source).tags
    assert Tags(output).balanced


# Every construct the parser reports, common or not, as a newsroom CMS or a hostile client sends it.
CONSTRUCTS = st.sampled_from(
    [
        # text, entities, stray characters
        "حلب تحت سيطرة النظام. ", "قال المتحدث ", "The minister said. ", " ", "\n", "2024",
        "&amp;", "&nosuch;", "&#1581;", "&#x62D;", "&amp", "& ", "&", "<", "a < b", "x&y", ">",
        # block, inline and void tags, translatable attributes
        "<p>", "</p>", "<div class='c'>", "</div>", "<h1>", "</h1>", "<li>", "<td>",
        "<b>", "</b>", "<a href='x?a=1&amp;b=2' title='عنوان الرابط'>", "</a>", "<span>", "</span>",
        "<br>", "<br/>", "<img alt='صورة من حلب' src=x>", "<wbr>",
        # untranslated elements
        "<code>x < y</code>", "<svg><text>نص داخل الرسم</text></svg>", "<script>if (a<b) {}</script>",
        "<span translate=\"no\">لا تترجم</span>", "<style>p{}</style>",
        # comments (bogus ones too), declarations, processing instructions, CDATA
        "<!-- note -->", "<!x>", "<!>", "<!---->", "<!-->", "<!--x--!>", "<!DOCTYPE html>", "<?php echo 1; ?>",
        "<?xml version='1.0'?>", "<![CDATA[ x < y ]]>", "<![if !IE]>", "<![endif]>",
        # malformed: empty and unknown end tags, unclosed tags and constructs
        "</>", "</ p>", "</unknown>", "<b", "<p class=", "<!--", "<?", "<!", "<![CDATA[", "</",
    ]
)  # fmt: skip


def untranslated(document_source: str) -> str:
    """What a rebuild must keep: the source without the text of its blocks (whitespace aside)."""
    document = parse(document_source)
    keep = [True] * len(document_source)
    for block in document.blocks:
        for piece in block.pieces:
            keep[piece.start : piece.end] = [False] * (piece.end - piece.start)
    return "".join(char for char, kept in zip(document_source, keep, strict=True) if kept and not char.isspace())


@settings(max_examples=300, deadline=None)
@given(st.lists(CONSTRUCTS, max_size=14).map("".join))
def test_every_construct_comes_back_byte_for_byte(source: str) -> None:
    document = parse(source)
    none = [None] * len(document.blocks), [None] * len(document.attributes), [{} for _ in document.blocks]
    assert rebuild(document, *none) == source  # nothing translated: the same bytes
    emptied = rebuild(document, [""] * len(document.blocks), [None] * len(document.attributes), none[2])
    assert "".join(emptied.split()) == untranslated(source)  # every untranslated byte, in order
    translated = rebuild(document, ["X"] * len(document.blocks), none[1], none[2])
    assert "".join(translated.replace("X", "").split()) == untranslated(source)


def test_constructs_off_the_common_path_keep_their_place_inside_a_block() -> None:
    source = "<p>حلب <!x> تحت <?php echo 1; ?> سيطرة <![CDATA[ x ]]> النظام</p>"
    document = parse(source)
    assert len(document.blocks) == 1 and document.blocks[0].text == "حلب  تحت  سيطرة  النظام"
    output = rebuild(document, ["Aleppo under the control of the regime"], [], [{}])
    for construct in ("<!x>", "<?php echo 1; ?>", "<![CDATA[ x ]]>"):
        assert construct in output


# -- linear time ------------------------------------------------------------------------------

WORD = "كلمة"
# One hostile HTML text with ``n`` marks (tags), or ``n`` blocks, of each shape.
HTML_SHAPES: dict[str, Callable[[int], str]] = {
    "inline pieces": lambda n: "<p>" + f"<b>{WORD}</b> " * (n // 2) + "</p>",  # issue 22: cubic before
    "nested": lambda n: "<p>" + "<b>" * (n // 2) + WORD + "</b>" * (n // 2) + "</p>",
    "nested, text at each level": lambda n: "<p>" + f"<span>{WORD} " * (n // 2) + "</span>" * (n // 2) + "</p>",
    "attributes": lambda n: "<p>" + f"<a title='{WORD}'>{WORD}</a> " * (n // 2) + "</p>",
    "left open, stray ends": lambda n: "<p>" + f"<i>{WORD} " * (n // 2) + f"</u>{WORD} " * (n // 2) + "</p>",
    "blocks": lambda n: f"<p>{WORD}</p>" * n,
    "a script among the phrases": lambda n: "<p>ا<script>" + "x" * 5 * n + "</script>" + f"<b>{WORD}</b> " * n + "</p>",
}


def markup_work(source: str) -> None:
    """Everything markup does for a document: parse, phrases, offsets of every span, rebuild
    (distinct words in each translation, so every phrase is looked for)."""
    document = parse(source)
    phrases = [phrase_texts(block) for block in document.blocks]
    for block in document.blocks:
        for start in range(0, len(block.text), 5):
            block.html_range(start, start + 4)
    translations = [" ".join(f"w{i}" for i in range(len(block.text) // 5 + 1)) for block in document.blocks]
    found = [{pair: f"w{i}" for i, pair in enumerate(block_phrases)} for block_phrases in phrases]
    rebuild(document, translations, ["t"] * len(document.attributes), found)


@pytest.mark.parametrize("shape", list(HTML_SHAPES))
def test_markup_work_grows_linearly(shape: str) -> None:
    """Ten times the marks cost about ten times the CPU (best of a few, compared as a ratio,
    which a busy machine slows alike on both sides; measured 6-13): the pairing of marks once
    cost the cube of their number, end tags and attribute lookups the square."""

    def seconds(marks: int, repeat: int) -> float:
        source = HTML_SHAPES[shape](marks)
        best = float("inf")
        for _ in range(repeat):
            started = time.process_time()
            markup_work(source)
            best = min(best, time.process_time() - started)
        return best

    small, large = seconds(1_000, 3), seconds(10_000, 2)
    assert large <= 25 * max(small, 0.002), (small, large)  # quadratic would be ~100


def test_nested_phrases_are_read_at_most_a_few_times_over() -> None:
    """Deep nesting: each element's phrase holds nearly the whole block, so translating every
    one would make the model read the text hundreds of times; the shortest phrases are kept
    within PHRASE_BUDGET times the block's text, and the rest are placed by position."""
    source = "<p>" + "<span>" * 300 + "حلب تحت سيطرة النظام" + "</span>" * 300 + " وقال المتحدث</p>"
    (block,) = parse(source).blocks
    phrases = phrase_texts(block)
    assert sum(map(len, phrases.values())) <= PHRASE_BUDGET * len(block.text)
    assert len(phrases) == PHRASE_BUDGET * len(block.text) // len("حلب تحت سيطرة النظام")
    output = rebuild(parse(source), ["Aleppo under regime control, said the spokesman"], [], [phrases])
    assert Tags(output).tags == Tags(source).tags and Tags(output).balanced


def test_the_tokenizer_is_a_cancellation_point() -> None:
    """Parsing alone (markup no token counter ever reads) stops at a check too."""
    checks = [0]

    class Stopped(Exception):
        pass

    def check() -> None:
        checks[0] += 1
        raise Stopped

    with pytest.raises(Stopped):
        parse("<p>" + "<!-- x -->" * 100_000 + "</p>", check)
    assert checks[0] == 1
