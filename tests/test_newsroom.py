"""HTML bodies and glossaries through the real server and client (tiny models: structure, not wording)."""

from __future__ import annotations

import pytest
from tarjama_client import InvalidRequestError, TarjamaClient

from .helpers import GatedEngine, ServerThread, gated_loader, tiny_settings
from .test_markup import ARTICLE, UNTOUCHED, Tags


def test_html_keeps_every_tag_and_translates_text_and_attributes(client: TarjamaClient) -> None:
    (translation,) = client.translate(ARTICLE, mime_type="text/html").translations
    output = translation.text
    assert Tags(output).tags == Tags(ARTICLE).tags and Tags(output).balanced
    for kept in UNTOUCHED:
        assert kept in output
    assert 'alt="صورة من حلب"' not in output and 'title="رابط مهم"' not in output  # attributes translated
    for segment in translation.segments:
        assert ARTICLE[segment.source_start : segment.source_end] == segment.source
        # Every segment of the article's Arabic went through the model (a segment the server
        # passes through untranslated has no confidence and says so).
        assert segment.source.strip() and "passed_through" not in segment.flags and segment.confidence is not None
    # Every letter of every block and attribute lies in a segment.
    covered = set()
    for segment in translation.segments:
        covered.update(range(segment.source_start, segment.source_end))
    from tarjama_server.text.markup import parse

    document = parse(ARTICLE)
    for piece in [piece for block in document.blocks for piece in block.pieces] + document.attributes:
        for offset in range(piece.start, piece.end):
            assert offset in covered or not ARTICLE[offset].isalpha(), ARTICLE[offset - 10 : offset + 10]


def test_html_stream_matches_the_unary_segments(client: TarjamaClient) -> None:
    events = list(client.stream_translate(ARTICLE, mime_type="text/html"))
    (translation,) = client.translate(ARTICLE, mime_type="text/html").translations
    assert [e.segment_index for e in events] == list(range(len(translation.segments)))
    assert {e.total_segments for e in events} == {len(translation.segments)}
    assert [(e.segment.source_start, e.segment.source_end) for e in events] == [
        (s.source_start, s.source_end) for s in translation.segments
    ]


def test_english_html_block_comes_back_byte_for_byte(client: TarjamaClient) -> None:
    source = '<p class="en">Hello <b>world</b> &amp; friends</p>\n<p>حلب تحت سيطرة <i>النظام</i></p>'
    (translation,) = client.translate(source, mime_type="text/html; charset=utf-8").translations
    assert translation.text.startswith('<p class="en">Hello <b>world</b> &amp; friends</p>\n<p>')
    assert "<i>" in translation.text and "حلب" not in translation.text
    assert [s.detected_language for s in translation.segments] == ["en", "ar"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.translate("<p>حلب</p>", mime_type="application/pdf"), "mime_type 'application/pdf'"),
        (lambda c: c.translate("<br><hr>", mime_type="text/html"), "holds no text to translate"),
        (lambda c: c.translate("حلب", glossary={"حلب": " "}), "both sides must hold text"),
    ],
)
def test_bad_html_and_glossary_requests(client: TarjamaClient, call, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        call(client)


@pytest.fixture(scope="module")
def recording_server(models_dir):
    engines: list[GatedEngine] = []
    with ServerThread(tiny_settings(models_dir, summarization_model="none"), gated_loader(engines)).start() as running:
        engines[0].gate.set()  # never blocks: it records what the model reads
        yield running, engines[0]


def test_glossary_terms_reach_the_model_on_whole_words_only(recording_server) -> None:
    running, engine = recording_server
    glossary = {"الأونروا": "UNRWA", "حلب": "Aleppo"}
    text = "زار وفد الأونروا مدينة حلب. وقالت للأونروا إن الحلبي باقٍ في حلبون."
    with TarjamaClient(running.address, timeout=120) as client:
        (translation,) = client.translate(text, glossary=glossary).translations
    model_inputs = [t for batch in engine.batches for t in batch]
    assert "زار وفد UNRWA مدينة Aleppo." in model_inputs
    assert "وقالت ل UNRWA إن الحلبي باقٍ في حلبون." in model_inputs  # never inside another word
    first, second = translation.segments
    for segment, terms in ((first, {"الأونروا", "حلب"}), (second, {"الأونروا"})):
        expected = {term for term in terms if glossary[term] not in segment.translation}
        assert set(segment.glossary_missing) == expected


def test_glossary_and_html_together(recording_server) -> None:
    running, engine = recording_server
    with TarjamaClient(running.address, timeout=120) as client:
        (translation,) = client.translate(
            '<p>قال <a href="/unrwa">الأونروا</a> في حلب</p>', mime_type="text/html", glossary={"الأونروا": "UNRWA"}
        ).translations
    inputs = [t for batch in engine.batches for t in batch]
    assert "قال UNRWA في حلب" in inputs and "UNRWA" in inputs  # the block, and the link's own phrase
    assert '<a href="/unrwa">' in translation.text and "</a>" in translation.text
