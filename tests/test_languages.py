from __future__ import annotations

import pytest
from tarjama_server.errors import InvalidRequestError
from tarjama_server.languages import detect_language, normalize_language


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
