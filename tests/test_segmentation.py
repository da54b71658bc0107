"""The sentence splitter on hard cases; the no-text-dropped promise as a property."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tarjama_server.text.segmentation import Span, pack, rebuild, segment, split_sentences, trailing_whitespace


def words(text: str) -> int:
    """A stand-in tokenizer: one token per word plus end-of-sequence."""
    return len(text.split()) + 1


def assert_covers(text: str, spans: list[Span]) -> None:
    """Every non-space character lies in exactly one span; spans are ordered and exact."""
    covered = [0] * len(text)
    previous_end = 0
    for span in spans:
        assert span.text == text[span.start : span.end]
        assert span.text == span.text.strip() and span.text
        assert span.start >= previous_end
        previous_end = span.end
        for i in range(span.start, span.end):
            covered[i] += 1
    for i, char in enumerate(text):
        if not char.isspace():
            assert covered[i] == 1, (i, char)


def texts(text: str) -> list[str]:
    return [span.text for span in split_sentences(text)]


def test_seed_article_splits_into_its_twenty_sentences(seed_article: str) -> None:
    spans = split_sentences(seed_article)
    assert_covers(seed_article, spans)
    # The reference translation has one line per source sentence.
    assert len(spans) == 20
    assert spans[1].text.endswith('والمقاتلون".')
    assert spans[7].text.endswith('من الصفر."')  # the quote closes after the full stop
    assert spans[9].text.startswith("في عملية تمت")


def test_quote_closing_after_full_stop_stays_with_its_sentence() -> None:
    assert texts('وقال "عملية الإجلاء صادمة." وأصبحت المدينة هادئة.') == [
        'وقال "عملية الإجلاء صادمة."',
        "وأصبحت المدينة هادئة.",
    ]
    assert texts("He said: “It is over.” Then he left.") == ["He said: “It is over.”", "Then he left."]


def test_opening_quote_after_full_stop_starts_the_next_sentence() -> None:
    assert texts('انتهى الأمر. "لن نتراجع" قال.') == ["انتهى الأمر.", '"لن نتراجع" قال.']


@pytest.mark.parametrize(
    "text",
    ["ارتفع بنسبة 3.5 في المئة", "He paid $1.200 for 2.5 kg.", "الإصدار 2.13.0 متاح"],
)
def test_decimal_numbers_are_not_split(text: str) -> None:
    assert texts(text) == [text]


def test_abbreviations_and_initials_do_not_end_sentences() -> None:
    assert texts("Mr. Smith met U.S. officials on Jan. 5. They agreed.") == [
        "Mr. Smith met U.S. officials on Jan. 5.",
        "They agreed.",
    ]
    assert texts("قال د. محمد إن الوضع صعب. وأضاف أنه متفائل.") == ["قال د. محمد إن الوضع صعب.", "وأضاف أنه متفائل."]
    assert texts("The talks (approx. five hours) ended.") == ["The talks (approx. five hours) ended."]


def test_arabic_question_mark_semicolon_and_missing_space() -> None:
    assert texts("هل انتهت الحرب؟ لا أحد يعرف؛ القتال مستمر!") == ["هل انتهت الحرب؟", "لا أحد يعرف؛", "القتال مستمر!"]
    assert texts("انتهت العملية.وبدأت أخرى") == ["انتهت العملية.", "وبدأت أخرى"]
    assert texts("ماذا؟!نعم") == ["ماذا؟!", "نعم"]


def test_list_markers_and_arabic_script_full_stop() -> None:
    assert texts("1. البند الأول. البند الثاني\n2. البند الثالث") == [
        "1. البند الأول.",
        "البند الثاني",
        "2. البند الثالث",
    ]
    assert texts("انتهى الاجتماع۔ وبدأ آخر") == ["انتهى الاجتماع۔", "وبدأ آخر"]
    assert texts("وصل 300. وغادر 20.") == ["وصل 300.", "وغادر 20."]  # a number ending a sentence still ends it


def test_no_final_punctuation_keeps_the_tail() -> None:
    assert texts("جملة أولى. وجملة بلا نقطة") == ["جملة أولى.", "وجملة بلا نقطة"]
    assert texts("عنوان بلا نقطة") == ["عنوان بلا نقطة"]


def test_separators_are_the_exact_source_whitespace() -> None:
    text = "  العنوان\r\n\r\nالفقرة الأولى. جملة ثانية.\u2028سطر جديد\n\n\n\tالفقرة الأخيرة \n"
    spans = split_sentences(text)
    assert [s.separator for s in spans] == ["  ", "\r\n\r\n", " ", "\u2028", "\n\n\n\t"]
    assert rebuild([s.separator for s in spans], [s.text for s in spans], trailing_whitespace(text, spans)) == text


def test_whitespace_only_text_has_no_segments() -> None:
    assert split_sentences(" \n\t ") == []


def test_five_thousand_word_sentence_is_cut_to_fit_and_nothing_is_lost() -> None:
    text = " ".join(f"كلمة{i % 97}" for i in range(5000)) + "."
    spans = segment(text, words, max_tokens=200)
    assert_covers(text, spans)
    assert all(words(span.text) <= 200 for span in spans)
    assert len(spans) == 26  # ceil(5000 / 199): packing wastes nothing
    assert all(span.separator == " " for span in spans[1:])


def test_long_sentence_prefers_clause_boundaries() -> None:
    clause = " ".join(["جزء"] * 30)
    text = "، ".join([clause] * 6) + "."
    spans = segment(text, words, max_tokens=70)
    assert_covers(text, spans)
    assert all(span.text.endswith(("،", ".")) for span in spans)


def test_a_word_longer_than_the_window_is_cut_by_characters() -> None:
    text = "انظر " + "x" * 3000 + " للمزيد."

    def chars(piece: str) -> int:
        return len(piece) // 4 + 1

    spans = segment(text, chars, max_tokens=100)
    assert_covers(text, spans)
    assert all(chars(span.text) <= 100 for span in spans)


def test_pack_groups_sentences_into_windows(seed_article: str) -> None:
    spans = segment(seed_article, words, max_tokens=120)
    chunks = pack(seed_article, spans, words, max_tokens=120)
    assert all(words(chunk) <= 120 for chunk in chunks)
    assert re.sub(r"\s+", "", "".join(chunks)) == re.sub(r"\s+", "", seed_article)
    assert 1 < len(chunks) < len(spans)


alphabet = st.sampled_from([*list('ابتثجحخ abc.؟!؛،,"«»” \n\n0123456789'), "د. ", "Mr. ", "3.5"])


@settings(max_examples=300, deadline=None)
@given(st.lists(alphabet, max_size=300).map("".join), st.integers(min_value=2, max_value=40))
def test_any_text_is_fully_covered(text: str, max_tokens: int) -> None:
    spans = segment(text, words, max_tokens=max_tokens)
    assert_covers(text, spans)
    assert all(words(span.text) <= max_tokens or len(span.text.split()) == 1 for span in spans)
