"""Model loading: the server's own code path, on tiny models saved to disk."""

from __future__ import annotations

import subprocess
import sys

import pytest
from tarjama_server.engines.base import GenerationParams, Task
from tarjama_server.errors import ModelUnavailableError
from tarjama_server.models import is_cached, load_engine, resolve_model
from tarjama_server.tiny_models import TinyModelPaths


def test_local_directory_loads_and_is_flagged_untrained(tiny_models: TinyModelPaths) -> None:
    resolved = resolve_model(str(tiny_models.translation), offline=True)
    assert resolved.revision == "local"
    assert resolved.untrained
    engine = load_engine(resolved, Task.TRANSLATION, ("ar",), ("en",), "cpu")
    assert engine.info.untrained and "UNTRAINED" in engine.info.label
    assert engine.info.max_input_tokens == 512
    assert type(engine.model).__name__ == "MarianMTModel"
    outputs = engine.generate(
        ["أعلنت اللجنة الدولية", "وقالت المتحدثة باسم اللجنة"], GenerationParams(num_beams=2, max_new_tokens=5)
    )
    assert len(outputs) == 2
    assert all(0 < o.output_tokens <= 6 and o.input_tokens > 1 for o in outputs)


def test_mt5_directory_loads(tiny_models: TinyModelPaths) -> None:
    engine = load_engine(resolve_model(str(tiny_models.summarization)), Task.SUMMARIZATION, ("ar",), ("ar",), "cpu")
    assert type(engine.model).__name__ == "MT5ForConditionalGeneration"
    assert engine.count_tokens("") == 1  # just </s>


def test_engine_refuses_rather_than_truncates(tiny_models: TinyModelPaths) -> None:
    engine = load_engine(resolve_model(str(tiny_models.translation)), Task.TRANSLATION, ("ar",), ("en",), "cpu")
    with pytest.raises(ValueError, match="exceeds the model window"):
        engine.generate(["حلب " * 600], GenerationParams(num_beams=1, max_new_tokens=2))


def test_uncached_hub_model_offline_says_how_to_provide_it(tmp_path) -> None:
    with pytest.raises(ModelUnavailableError) as raised:
        resolve_model("Helsinki-NLP/opus-mt-ar-en", cache_dir=str(tmp_path), offline=True, flag="--translation-model")
    message = str(raised.value)
    assert "tarjama-models download Helsinki-NLP/opus-mt-ar-en" in message
    assert "--translation-model /path/to/model" in message
    assert not is_cached("Helsinki-NLP/opus-mt-ar-en", cache_dir=str(tmp_path))


def test_missing_local_directory_is_reported(tmp_path) -> None:
    with pytest.raises(ModelUnavailableError, match="not a model directory"):
        resolve_model(str(tmp_path / "nowhere"))


def test_server_exits_with_guidance_when_model_is_missing(tmp_path) -> None:
    """The real entry point: start-up fails fast with exit code 2 and a how-to."""
    result = subprocess.run(
        [sys.executable, "-m", "tarjama_server.app", "--port", "0", "--metrics-port", "0", "--offline",
         "--cache-dir", str(tmp_path), "--summarization-model", "none"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "cannot start" in result.stderr
    assert "tarjama-models download Helsinki-NLP/opus-mt-ar-en" in result.stderr
