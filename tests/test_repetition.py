from __future__ import annotations

import pytest
from tarjama_server.text.repetition import is_degenerate, longest_repeat


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry I'm sorry I'm sorry",
        "The people are poor, poor, poor, poor.",
        "and the and the and the city",
    ],
)
def test_loops_are_detected(text: str) -> None:
    assert is_degenerate(text)


@pytest.mark.parametrize(
    "text",
    [
        "The International Committee of the Red Cross announced the completion of an evacuation.",
        "Aleppo, Damascus, Homs, Hama and Latakia are under the control of the regime.",
        "It was very, very cold.",
        "",
    ],
)
def test_normal_sentences_pass(text: str) -> None:
    assert not is_degenerate(text)


def test_longest_repeat_reports_unit_and_count() -> None:
    assert longest_repeat("a b a b a b c") == (2, 3)
