"""HTML handling without a model: what is extracted, and how translations are put back."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from tarjama_server.text.markup import parse, phrase_texts, rebuild

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
