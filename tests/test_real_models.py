"""The seed article through the real weights. Skipped unless they are in the local
Hugging Face cache (fetch them with `tarjama-models download` where a hub is reachable)."""

from __future__ import annotations

import pytest
from tarjama_client import TarjamaClient
from tarjama_server.errors import ModelUnavailableError
from tarjama_server.loading.hub import resolve_model
from tarjama_server.settings import DEFAULT_SUMMARIZATION_MODEL, DEFAULT_TRANSLATION_MODEL, Settings

from .helpers import ServerThread

pytestmark = pytest.mark.real_models


def is_cached(ref: str) -> bool:
    """Whether ``ref`` loads without a network: the weights are in the local cache."""
    try:
        resolve_model(ref, offline=True)
    except ModelUnavailableError:
        return False
    return True


_missing = [m for m in (DEFAULT_TRANSLATION_MODEL, DEFAULT_SUMMARIZATION_MODEL) if not is_cached(m)]


@pytest.fixture(scope="module")
def real_client():
    if _missing:
        pytest.skip(f"real weights not in the local cache: {', '.join(_missing)} (run `tarjama-models download`)")
    running = ServerThread(Settings(port=0, metrics_port=0, offline=True)).start(timeout=600)
    with TarjamaClient(running.address, timeout=600) as client:
        yield client
    running.stop()


def test_seed_translation_has_real_content(real_client: TarjamaClient, seed_article: str) -> None:
    result = real_client.translate(seed_article)
    text = result.translations[0].text
    assert "Aleppo" in text
    assert "Red Cross" in text
    assert len(result.translations[0].segments) == 20
    assert "UNTRAINED" not in result.model


def test_seed_summary_in_english_mentions_aleppo(real_client: TarjamaClient, seed_article: str) -> None:
    result = real_client.summarize(seed_article, summary_language="en")
    assert "Aleppo" in result.summary
    assert result.summary_language == "en"


def test_seed_summary_in_arabic_is_arabic(real_client: TarjamaClient, seed_article: str) -> None:
    result = real_client.summarize(seed_article, summary_language="ar")
    assert "حلب" in result.summary


# Conservative floors, below what opus-mt-ar-en should reach on news (its card reports
# chrF 66 on Tatoeba). Not yet measured here: no hub, so the real weights never ran.
SEED_CHRF_FLOOR = 40.0
SEED_BLEU_FLOOR = 10.0


def test_seed_translation_quality_floor(real_client: TarjamaClient, seed_article: str) -> None:
    from tarjama_client.evaluation import evaluate

    from .helpers import SEED_REFERENCE

    report = evaluate(real_client, seed_article, SEED_REFERENCE.read_text(encoding="utf-8"))
    assert len(report.sentences) == 20
    assert report.chrf >= SEED_CHRF_FLOOR, report
    assert report.bleu >= SEED_BLEU_FLOOR, report
