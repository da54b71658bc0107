"""The CTranslate2 engine against the reference transformers engine, on the tiny models."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from tarjama_client import TarjamaClient
from tarjama_server.engines.base import GenerationParams, Task
from tarjama_server.loading.hub import resolve_model
from tarjama_server.loading.loader import load_engine
from tarjama_server.loading.tiny_models import TinyModelPaths
from tarjama_server.text.segmentation import split_sentences

from .helpers import ServerThread, tiny_settings

ctranslate2 = pytest.importorskip("ctranslate2", reason="the ctranslate2 extra is not installed")

LANGUAGES = {Task.TRANSLATION: (("ar",), ("en",)), Task.SUMMARIZATION: (("ar", "en"), ("ar", "en"))}


@pytest.fixture(scope="module")
def converted_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ctranslate2")


def engines(directory: Path, task: Task, converted_dir: Path):
    resolved = resolve_model(str(directory))
    reference = load_engine(resolved, task, *LANGUAGES[task], "cpu")
    fast = load_engine(
        resolved, task, *LANGUAGES[task], "cpu", engine="ctranslate2", compute_type="float32",
        converted_dir=str(converted_dir), threads=1,
    )  # fmt: skip
    return reference, fast


@pytest.mark.parametrize("task", [Task.TRANSLATION, Task.SUMMARIZATION])
def test_both_engines_give_the_same_greedy_output_in_float32(
    tiny_models: TinyModelPaths, converted_dir: Path, seed_article: str, task: Task
) -> None:
    directory = tiny_models.translation if task is Task.TRANSLATION else tiny_models.summarization
    reference, fast = engines(directory, task, converted_dir)
    assert fast.info.engine.startswith("ctranslate2") and "float32" in fast.info.engine
    assert fast.info.max_input_tokens == reference.info.max_input_tokens
    sentences = [span.text for span in split_sentences(seed_article)]
    for params in (
        GenerationParams(num_beams=1, max_new_tokens=40),
        GenerationParams(num_beams=1, max_new_tokens_ratio=2.5),
    ):
        expected = reference.generate(sentences, params)
        got = fast.generate(sentences, params)
        assert [(g.text, g.input_tokens, g.output_tokens) for g in got] == [
            (g.text, g.input_tokens, g.output_tokens) for g in expected
        ]
        # The same score from both (test_trust.py checks it on long outputs and beam search).
        assert [g.log_probability for g in got] == pytest.approx([g.log_probability for g in expected], abs=0.01)
    assert {g.output_tokens for g in expected} != {40}, "the tiny model should stop on its own here"


def test_mt5_conversion_keeps_xlsum_style_untied_output_layer(tiny_models: TinyModelPaths, converted_dir: Path) -> None:
    """transformers 5 reports every mT5 as tied; CTranslate2 would then scale the decoder
    output as for tied T5. Greedy text survives that, the scores do not: compare them."""
    import torch

    reference, fast = engines(tiny_models.summarization, Task.SUMMARIZATION, converted_dir)
    text = "أعلنت اللجنة الدولية للصليب الأحمر عن اكتمال عملية الإجلاء"
    encoded = reference.tokenizer([text], return_tensors="pt")
    with torch.inference_mode():
        output = reference.model.generate(
            **encoded, num_beams=1, do_sample=False, max_new_tokens=6, output_scores=True, return_dict_in_generate=True
        )
    steps = reference.model.compute_transition_scores(output.sequences, output.scores, normalize_logits=True)
    source = reference.tokenizer.convert_ids_to_tokens(encoded["input_ids"][0].tolist())
    (result,) = fast.translator.translate_batch(
        [source], beam_size=1, max_decoding_length=6, min_decoding_length=0, return_scores=True,
        length_penalty=0, return_end_token=True,  # length_penalty 0: the plain sum of log-probabilities
    )  # fmt: skip
    assert result.scores[0] == pytest.approx(float(steps.sum()), abs=1e-3)


def test_conversion_is_made_once_and_reused(tiny_models: TinyModelPaths, converted_dir: Path) -> None:
    engines(tiny_models.translation, Task.TRANSLATION, converted_dir)
    (model_bin,) = converted_dir.glob("*marian-ar-en/*/float32/model.bin")
    made = model_bin.stat().st_mtime_ns
    engines(tiny_models.translation, Task.TRANSLATION, converted_dir)
    assert model_bin.stat().st_mtime_ns == made


def test_server_on_ctranslate2_engines(models_dir: Path, converted_dir: Path, seed_article: str) -> None:
    settings = dataclasses.replace(
        tiny_settings(models_dir),
        translation_engine="ctranslate2",
        summarization_engine="ctranslate2",
        ctranslate2_compute_type="int8",
        ctranslate2_dir=str(converted_dir),
    )
    with ServerThread(settings).start() as running, TarjamaClient(running.address, timeout=120) as client:
        assert {m.task: m.engine.split()[0] for m in client.list_models()} == {
            "translation": "ctranslate2",
            "summarization": "ctranslate2",
        }
        (translation,) = client.translate(seed_article).translations
        assert len(translation.segments) == 20
        assert all(seed_article[s.source_start : s.source_end] == s.source for s in translation.segments)
        assert client.summarize(seed_article, summary_language="en", max_summary_tokens=16).usage.output_tokens > 0


def test_tarjama_models_converts_ahead_of_time(tiny_models: TinyModelPaths, tmp_path: Path, capsys) -> None:
    from tarjama_server.loading.cli import main

    code = main(["convert", str(tiny_models.translation), "--compute-type", "int8", "--output-dir", str(tmp_path)])
    assert code == 0
    assert "CTranslate2 int8 at" in capsys.readouterr().out
    assert list(tmp_path.glob("*/local-*/int8/model.bin"))
