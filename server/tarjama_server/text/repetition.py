"""Detect the degenerate loops opus-mt falls into on long or noisy input
("I'm sorry I'm sorry I'm sorry", "poor, poor, poor, poor")."""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+", re.UNICODE)


def longest_repeat(text: str, max_unit: int = 6) -> tuple[int, int]:
    """(unit length in words, consecutive repeats) of the worst immediate repetition."""
    words = [w.lower() for w in _WORD.findall(text)]
    worst = (0, 1)
    for unit in range(1, max_unit + 1):
        for start in range(len(words) - unit):
            repeats = 1
            while words[start : start + unit] == words[start + repeats * unit : start + (repeats + 1) * unit]:
                repeats += 1
            if repeats > worst[1] or (repeats == worst[1] and unit > worst[0]):
                worst = (unit, repeats)
    return worst


def is_degenerate(text: str) -> bool:
    """A word repeated 4+ times in a row, or a phrase of 2-6 words 3+ times in a row."""
    unit, repeats = longest_repeat(text)
    return repeats >= 4 or (unit >= 2 and repeats >= 3)
