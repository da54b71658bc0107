"""The translation engine without gRPC, on a scripted engine."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from tarjama_server.batching import BatchScheduler
from tarjama_server.engines.base import Generation, GenerationParams, ModelInfo, Task
from tarjama_server.translation import TranslationDefaults, Translator

INFO = ModelInfo("scripted", Task.TRANSLATION, "local", ("ar",), ("en",), "none", "fake", "cpu", 512)


class LoopingEngine:
    """Loops under plain decoding, behaves once n-gram blocking is on."""

    info = INFO

    def __init__(self) -> None:
        self.calls: list[GenerationParams] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 1

    def generate(self, texts: Sequence[str], params: GenerationParams) -> list[Generation]:
        self.calls.append(params)
        if params.no_repeat_ngram_size:
            return [Generation(f"translated {t}", 3, 4) for t in texts]
        return [Generation("sorry sorry sorry sorry sorry", 3, 6) for _ in texts]


def run(coroutine):
    return asyncio.run(coroutine)


def test_looping_output_is_retranslated_with_ngram_blocking() -> None:
    async def scenario():
        engine = LoopingEngine()
        with ThreadPoolExecutor(1) as pool:
            scheduler = BatchScheduler(engine, pool, max_batch_size=8, max_queued=100)
            scheduler.start()
            translator = Translator(scheduler, TranslationDefaults())
            result = await translator.translate_texts(["جملة أولى. جملة ثانية."], "", "", translator.params())
            await scheduler.stop()
        return engine, result

    engine, result = run(scenario())
    document = result.documents[0]
    assert [s.translation for s in document.segments] == ["translated جملة أولى.", "translated جملة ثانية."]
    assert document.text == "translated جملة أولى. translated جملة ثانية."
    assert engine.calls[0].no_repeat_ngram_size == 0
    assert all(p.no_repeat_ngram_size == 3 and dict(p.extra)["repetition_penalty"] == 1.3 for p in engine.calls[1:])
    assert result.output_tokens == 2 * (6 + 4)  # both attempts are counted


def test_guard_can_be_turned_off() -> None:
    async def scenario():
        engine = LoopingEngine()
        with ThreadPoolExecutor(1) as pool:
            scheduler = BatchScheduler(engine, pool, max_batch_size=8, max_queued=100)
            scheduler.start()
            translator = Translator(scheduler, TranslationDefaults(repetition_guard=False))
            result = await translator.translate_texts(["جملة."], "ar", "en", translator.params())
            await scheduler.stop()
        return result

    assert run(scenario()).documents[0].text == "sorry sorry sorry sorry sorry"


def test_default_decoding_caps_new_tokens_relative_to_input() -> None:
    translator = Translator.__new__(Translator)
    translator.defaults = TranslationDefaults(num_beams=4)
    assert translator.params() == GenerationParams(num_beams=4, max_new_tokens=0, max_new_tokens_ratio=2.5)
    assert translator.params(2, 100) == GenerationParams(num_beams=2, max_new_tokens=100, max_new_tokens_ratio=0.0)


def test_summarizer_map_reduce_with_empty_partial_summaries() -> None:
    """A model that returns nothing still gives an (empty) answer, not an endless reduce loop."""
    from tarjama_server.summarization import SummarizationDefaults, Summarizer

    class Silent(LoopingEngine):
        info = ModelInfo("silent", Task.SUMMARIZATION, "local", ("ar",), ("ar",), "none", "fake", "cpu", 20)

        def generate(self, texts, params):
            self.calls.append(params)
            return [Generation("", 5, 1) for _ in texts]

    async def scenario():
        engine = Silent()
        with ThreadPoolExecutor(1) as pool:
            scheduler = BatchScheduler(engine, pool, max_batch_size=8, max_queued=100)
            scheduler.start()
            summarizer = Summarizer(scheduler, SummarizationDefaults(), translator=None)
            result = await summarizer.summarize("جملة قصيرة هنا. " * 30, "", "ar")
            await scheduler.stop()
        return engine, result

    engine, result = run(scenario())
    assert result.summary == ""
    assert "map-reduce" in result.method
    assert len(engine.calls) == 1  # one map round, then nothing left to reduce


def test_summarizer_map_reduce_reads_every_chunk() -> None:
    from tarjama_server.summarization import SummarizationDefaults, Summarizer

    class Echo(LoopingEngine):
        info = ModelInfo("echo", Task.SUMMARIZATION, "local", ("ar",), ("ar",), "none", "fake", "cpu", 40)

        def __init__(self) -> None:
            super().__init__()
            self.inputs: list[str] = []

        def generate(self, texts, params):
            self.inputs.extend(texts)
            return [Generation(t.split()[0], 5, 1) for t in texts]  # first word of each chunk

    article = " ".join(f"الجملة{i} فيها بعض الكلمات الأخرى." for i in range(40))

    async def scenario():
        engine = Echo()
        with ThreadPoolExecutor(1) as pool:
            scheduler = BatchScheduler(engine, pool, max_batch_size=8, max_queued=100)
            scheduler.start()
            result = await Summarizer(scheduler, SummarizationDefaults(), None).summarize(article, "ar", "ar")
            await scheduler.stop()
        return engine, result

    engine, result = run(scenario())
    first_round = [text for text in engine.inputs if "فيها" in text]
    assert " ".join(first_round).split() == article.split()  # every word was read, none twice
    assert result.method.startswith("summarize-ar+map-reduce(")
