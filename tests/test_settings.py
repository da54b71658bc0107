from __future__ import annotations

import pytest
from tarjama_server.settings import DEFAULT_TRANSLATION_MODEL, load_settings


def test_defaults() -> None:
    settings = load_settings([], env={})
    assert settings.translation_model == DEFAULT_TRANSLATION_MODEL
    assert settings.port == 50051
    assert settings.offline is False
    assert settings.summarization_enabled


def test_environment_then_flags() -> None:
    env = {"TARJAMA_PORT": "6000", "TARJAMA_NUM_BEAMS": "2", "TARJAMA_OFFLINE": "true", "TARJAMA_HOST": "0.0.0.0"}
    settings = load_settings(["--port", "7000"], env=env)
    assert settings.port == 7000  # the flag wins
    assert settings.num_beams == 2
    assert settings.offline is True
    assert settings.host == "0.0.0.0"


def test_hf_hub_offline_means_offline() -> None:
    assert load_settings([], env={"HF_HUB_OFFLINE": "1"}).offline is True


def test_summarization_can_be_disabled() -> None:
    assert not load_settings(["--summarization-model", "none"], env={}).summarization_enabled


def test_bad_environment_value_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        load_settings([], env={"TARJAMA_PORT": "fifty"})
    assert "TARJAMA_PORT" in capsys.readouterr().err


def test_engines_and_repetition_guard_are_settings() -> None:
    settings = load_settings(
        ["--translation-engine", "ctranslate2", "--no-repetition-guard"],
        env={"TARJAMA_SUMMARIZATION_ENGINE": "ctranslate2"},
    )
    assert (settings.translation_engine, settings.summarization_engine) == ("ctranslate2", "ctranslate2")
    assert settings.repetition_guard is False
    defaults = load_settings([], env={})
    assert defaults.repetition_guard is True
    # The fast engine where installed, one model worker per core: both decided at load time.
    assert (defaults.translation_engine, defaults.summarization_engine, defaults.model_workers) == ("auto", "auto", 0)
    assert load_settings(["--model-workers", "3"], env={}).model_workers == 3
