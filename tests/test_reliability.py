"""Promises kept on any copy: work that never reaches the model is not charged as model work,
and newsroom shapes that look odd to a language identifier are translated, not refused.
Through a real server on the tiny models."""

from __future__ import annotations

import pytest
from tarjama_client import InvalidRequestError, TarjamaClient


def test_text_that_needs_no_model_is_not_charged_as_model_work(client: TarjamaClient) -> None:
    # 180,000 characters of English with a 10 s deadline: by its length, minutes of model work;
    # it passes through, so admission charges none.
    english = ("The minister said talks would resume next week in Geneva.\n" * 3100)[:180_000]
    result = client.translate(english, timeout=10)
    assert result.translations[0].text == english
    assert result.usage.input_tokens == 0


def test_a_latin_label_before_a_short_arabic_caption_is_translated_not_refused(client: TarjamaClient) -> None:
    result = client.translate(["Photo: حلب", "Reuters: دمشق", "Getty: نازحون"])
    for translation in result.translations:
        assert {segment.detected_language for segment in translation.segments} == {"ar"}


def test_html_off_the_common_path_is_translated_and_kept_never_internal(client: TarjamaClient) -> None:
    source = "<p>حلب <!x> تحت <?php echo 1; ?> سيطرة <![CDATA[ x ]]> النظام</p>"
    result = client.translate(source, mime_type="text/html")
    for construct in ("<!x>", "<?php echo 1; ?>", "<![CDATA[ x ]]>"):
        assert construct in result.translations[0].text


def test_html_whose_only_text_is_not_translated_passes_through(client: TarjamaClient) -> None:
    svg = '<figure><svg viewBox="0 0 10 10"><text x="1">حلب</text></svg></figure>'
    result = client.translate(svg, mime_type="text/html")
    assert result.translations[0].text == svg
    with pytest.raises(InvalidRequestError, match="holds no text to translate, only markup"):
        client.translate("<p><img src=x></p>", mime_type="text/html")
