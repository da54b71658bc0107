"""Glossary matching: whole words, Arabic clitics, never inside another word."""

from __future__ import annotations

import pytest
from tarjama_server.errors import InvalidRequestError
from tarjama_server.text.glossary import Glossary

GLOSSARY = Glossary(
    {
        "الأونروا": "UNRWA",
        "حلب": "Aleppo",
        "الأمم المتحدة": "the United Nations",
        "الأمم": "nations",
        "Red Cross": "ICRC",
    }
)


@pytest.mark.parametrize(
    ("text", "injected"),
    [
        ("قالت الأونروا إن", "قالت UNRWA إن"),
        ("والأونروا", "و UNRWA"),
        ("بالأونروا", "ب UNRWA"),
        ("للأونروا", "ل UNRWA"),  # ل + ال fuse into لل
        ("فالأونروا", "ف UNRWA"),
        ("وللأونروا", "ول UNRWA"),
        ("في حلب.", "في Aleppo."),
        ("وحلب وبحلب", "و Aleppo وب Aleppo"),
        ("مدينة الحلب", "مدينة Aleppo"),
        ("الامم المتحدة قالت", "the United Nations قالت"),  # alef variants match; the longest term wins
        ("إن الأمم تتحد", "إن nations تتحد"),
        ("the red cross said", "the ICRC said"),  # Latin terms: case-insensitive whole words
    ],
)
def test_terms_match_with_clitics(text: str, injected: str) -> None:
    assert GLOSSARY.inject(text)[0] == injected


@pytest.mark.parametrize("text", ["الأونروات", "حلبي", "لأونروا", "Redcross", "حلبحلب", "أحلب"])
def test_never_inside_another_word(text: str) -> None:
    assert GLOSSARY.find(text) == []


def test_matches_report_place_and_missing_renderings() -> None:
    text = "زار وفد الأونروا حلب"
    matches = GLOSSARY.find(text)
    assert [(text[m.start : m.end], m.rendering) for m in matches] == [("الأونروا", "UNRWA"), ("حلب", "Aleppo")]
    assert Glossary.missing("A UNRWA delegation visited the city", matches) == ["حلب"]


@pytest.mark.parametrize(
    ("terms", "message"),
    [({"": "x"}, "both sides"), ({"حلب": " "}, "both sides"), ({" حلب": "Aleppo"}, "no surrounding spaces")],
)
def test_bad_glossaries_are_refused(terms, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        Glossary.checked(terms)
