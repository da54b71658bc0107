"""Model loading: the server's own code path, on tiny models saved to disk."""

from __future__ import annotations

import math
import sys

import pytest
from tarjama_server.engines.base import GenerationParams, Task
from tarjama_server.errors import ModelUnavailableError
from tarjama_server.loading.hub import resolve_model
from tarjama_server.loading.loader import default_workers, load_engine, load_engines, resolve_engine
from tarjama_server.loading.tiny_models import TinyModelPaths
from tarjama_server.settings import Settings


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


def test_mt5_directory_loads_with_its_own_output_layer(tiny_models: TinyModelPaths) -> None:
    """Like XLSum's checkpoint, the tiny mT5 carries an lm_head that differs from its
    embeddings; loading must keep it (transformers 5 ties mT5 weights unless they differ)."""
    import torch
    from safetensors import safe_open

    with safe_open(tiny_models.summarization / "model.safetensors", "pt") as saved:
        assert {"lm_head.weight", "shared.weight"} <= set(saved.keys())
    engine = load_engine(resolve_model(str(tiny_models.summarization)), Task.SUMMARIZATION, ("ar",), ("ar",), "cpu")
    model = engine.model
    assert type(model).__name__ == "MT5ForConditionalGeneration"
    assert model.lm_head.weight.data_ptr() != model.shared.weight.data_ptr()
    assert not torch.equal(model.lm_head.weight, model.shared.weight)
    assert engine.count_tokens("") == 1  # just </s>


@pytest.mark.parametrize("which", ["translation", "summarization"])
def test_tiny_models_stop_early_like_real_ones(tiny_models: TinyModelPaths, seed_article: str, which: str) -> None:
    """Outputs end well before the cap (100 here), so a seed article costs what short sentences cost."""
    import statistics

    from tarjama_server.text.segmentation import split_sentences

    directory = getattr(tiny_models, which)
    engine = load_engine(resolve_model(str(directory)), Task(which), ("ar",), ("en",), "cpu")
    sentences = [span.text for span in split_sentences(seed_article)]
    # Each pipeline's own decoding: the summarizer always uses the XLSum card's.
    summarizing = which == "summarization"
    params = GenerationParams(
        num_beams=2,
        max_new_tokens=100,
        no_repeat_ngram_size=2 if summarizing else 0,
        length_penalty=0.6 if summarizing else 1.0,
    )
    outputs = engine.generate(sentences, params)
    lengths = [output.output_tokens for output in outputs]
    assert statistics.median(lengths) <= 50, lengths
    assert statistics.median(lengths) >= 2, lengths  # stops, but not before saying anything


def test_length_cap_stops_a_model_that_never_ends(looping_marian) -> None:
    engine = load_engine(resolve_model(str(looping_marian)), Task.TRANSLATION, ("ar",), ("en",), "cpu")
    params = GenerationParams(num_beams=1, max_new_tokens_ratio=2.5)
    short, longer = engine.generate(["حلب", "أعلنت اللجنة الدولية للصليب الأحمر عن اكتمال عملية الإجلاء"], params)
    for output in (short, longer):
        longest_input = max(short.input_tokens, longer.input_tokens)  # the cap follows the batch's longest input
        assert output.output_tokens == math.ceil(2.5 * longest_input) + 8
    (capped,) = engine.generate(["حلب"], GenerationParams(num_beams=1, max_new_tokens=7))
    assert capped.output_tokens == 7


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


def test_missing_local_directory_is_reported(tmp_path) -> None:
    with pytest.raises(ModelUnavailableError, match="not a model directory"):
        resolve_model(str(tmp_path / "nowhere"))


def test_server_exits_with_guidance_when_model_is_missing(tmp_path, caplog) -> None:
    """The command's start-up path (``app.run`` under ``main``): fails fast with exit code 2 and a
    how-to. In this process: a subprocess would only add the cost of importing torch."""
    import asyncio

    from tarjama_server.app import run
    from tarjama_server.settings import load_settings

    argv = ["--port", "0", "--metrics-port", "0", "--offline", "--cache-dir", str(tmp_path)]
    argv += ["--summarization-model", "none"]
    with caplog.at_level("ERROR", logger="tarjama_server"):
        assert asyncio.run(run(load_settings(argv, env={}))) == 2
    assert "cannot start" in caplog.text
    assert "tarjama-models download Helsinki-NLP/opus-mt-ar-en" in caplog.text


def test_engine_auto_is_ctranslate2_where_installed_and_workers_one_per_core(monkeypatch) -> None:
    import importlib.util

    installed = importlib.util.find_spec("ctranslate2") is not None
    assert resolve_engine("auto", "cpu") == ("ctranslate2" if installed else "transformers")
    assert resolve_engine("transformers", "cpu") == "transformers"
    monkeypatch.setitem(sys.modules, "ctranslate2", None)  # as if not installed: import fails
    assert resolve_engine("auto", "cpu") == "transformers"
    assert (default_workers("cpu", 4), default_workers("cpu", 1), default_workers("cuda:0", 8)) == (4, 1, 1)
    with pytest.raises(ModelUnavailableError, match="--model-workers -1"):
        load_engines(Settings(model_workers=-1, device="cpu"))


def test_engine_auto_falls_back_to_transformers_when_the_model_cannot_be_converted(
    tiny_models: TinyModelPaths, monkeypatch, caplog
) -> None:
    pytest.importorskip("ctranslate2", reason="the ctranslate2 extra is not installed")
    from tarjama_server.loading import loader

    def read_only(*args, **kwargs):
        raise PermissionError("read-only conversion folder")

    monkeypatch.setattr(loader, "convert_model", read_only)
    resolved = resolve_model(str(tiny_models.translation))
    engine = load_engine(resolved, Task.TRANSLATION, ("ar",), ("en",), "cpu", engine="auto")
    assert engine.info.engine.startswith("transformers")
    assert "cannot run on CTranslate2 (PermissionError" in caplog.text
    with pytest.raises(PermissionError):  # asked for by name: the error stands
        load_engine(resolved, Task.TRANSLATION, ("ar",), ("en",), "cpu", engine="ctranslate2")
