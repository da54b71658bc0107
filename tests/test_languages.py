from __future__ import annotations

from pathlib import Path

import pytest
from tarjama_server.errors import InvalidRequestError
from tarjama_server.text.languages import detect_language, normalize_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("أعلنت اللجنة الدولية للصليب الأحمر", "ar"),
        ("The Red Cross said", "en"),
        ("قال مسؤول في UN إن", "ar"),
        ("2024 - 300", "und"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_normalize_language() -> None:
    assert normalize_language(" AR ", "source_language") == "ar"
    assert normalize_language("ar-SA", "source_language") == "ar"
    assert normalize_language("", "source_language") == ""
    with pytest.raises(InvalidRequestError, match="source_language 'arabic!'"):
        normalize_language("arabic!", "source_language")


def test_three_letter_and_legacy_codes_are_mapped_or_refused_with_a_hint() -> None:
    assert [normalize_language(code, "source_language") for code in ("ara", "arb", "ARA", "eng", "iw")] == [
        "ar", "ar", "ar", "en", "he",
    ]  # fmt: skip
    with pytest.raises(InvalidRequestError, match="two-letter code such as 'ar'"):
        normalize_language("xyz", "source_language")


LABELLED = Path(__file__).parent / "data" / "language_id.tsv"


def labelled_cases() -> list[tuple[str, str, str]]:
    rows = [line.split("\t", 2) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    return [(language, kind, text) for language, kind, text in rows if not language.startswith("#")]


def test_labelled_newsroom_set() -> None:
    """The measured accuracy in the README, kept: every Arabic-script text right (Arabic is
    what gets translated), at most three misses overall (67/70 when measured)."""
    wrong = [(language, detect_language(text), text) for language, _, text in labelled_cases()]
    wrong = [case for case in wrong if case[0] != case[1]]
    assert not [case for case in wrong if case[0] in {"ar", "fa", "ur"}], wrong
    assert len(wrong) <= 3, wrong


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("التقى جو بايدن مع Emmanuel Macron و Olaf Scholz و Justin Trudeau في قمة G7.", "ar"),
        ("عاجل: انقطاع الكهرباء https://t.co/AbC123xYz #بغداد", "ar"),
        ("حلب", "ar"),  # one word is valid Persian too: Arabic spelling decides
        ("ﺍﻟﺴﻼﻡ ﻋﻠﻴﻜﻢ", "ar"),  # presentation forms from a PDF
        ("زلزله در کرمانشاه", "fa"),
        ("کراچی میں شدید بارش کے باعث کئی علاقے زیر آب آ گئے ہیں۔", "ur"),
        ("Le ministre a déclaré que les négociations reprendraient.", "fr"),
        ("Reuters", "en"),  # unsure Latin text: taken as English
        ("https://t.co/AbC123xYz", "und"),
        # A Latin label before a short Arabic caption: Arabic letters only, so never Persian.
        ("Photo: حلب", "ar"),
        ("Reuters: دمشق", "ar"),
        ("Getty: نازحون", "ar"),
        ("Photo: زلزله در کرمانشاه", "fa"),  # a letter Arabic lacks still says Persian
    ],
)
def test_newsroom_cases(text: str, expected: str) -> None:
    assert detect_language(text) == expected
