"""The summarization pipeline on scripted engines: map-reduce over chunks, styles, the
refusals made before the model reads anything, and a summary translated into English."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from tarjama_server.core.admission import Calibration
from tarjama_server.core.limits import RequestLimits, SchedulerLimits
from tarjama_server.core.recipes import SummarizationDefaults, TranslationDefaults
from tarjama_server.core.requests import SummarizationRequest
from tarjama_server.core.scheduler import Scheduler
from tarjama_server.core.summarization import Summarizer
from tarjama_server.core.translation import Translator
from tarjama_server.engines.base import Generation, GenerationParams, Task
from tarjama_server.errors import InvalidRequestError

from .test_translation import CONTEXT, LoopingEngine, info, with_scheduler


def summarize(engine: LoopingEngine, article: str) -> Any:
    return with_scheduler(engine, lambda s: summary(s, request(article, "ar")))


async def summary(scheduler: Scheduler, request: SummarizationRequest) -> Any:
    summarizer = Summarizer(scheduler, defaults=SummarizationDefaults(), limits=RequestLimits(), translator=None)
    return await summarizer.summarize(summarizer.admit(request, context=CONTEXT))


def request(article: str, summary_language: str, **options: Any) -> SummarizationRequest:
    return SummarizationRequest(text=article, summary_language=summary_language, **options)


class SilentSummarizer(LoopingEngine):
    info = info(Task.SUMMARIZATION, window=20)

    def answer(self, text: str, params: GenerationParams) -> Generation:
        return Generation("", 5, 1)


class FirstWordSummarizer(LoopingEngine):
    info = info(Task.SUMMARIZATION, window=40)

    def answer(self, text: str, params: GenerationParams) -> Generation:
        return Generation(text.split()[0], 5, 1)


def test_summarizer_map_reduce_with_empty_partial_summaries() -> None:
    """A model that returns nothing ends its map-reduce (no endless reduce loop), and the editor
    gets the article's first sentence, said so in the method, never an empty summary."""
    engine = SilentSummarizer()
    result = summarize(engine, "جملة قصيرة هنا. " * 30)
    assert result.summary == "جملة قصيرة هنا."
    assert "map-reduce" in result.method and result.method.endswith("+first-sentence")
    assert result.confidence is None  # no model wrote it: no model score
    assert len(engine.calls) == 1  # one map round, then nothing left to reduce


def test_an_empty_summary_of_a_short_article_is_its_first_sentence() -> None:
    engine = SilentSummarizer()
    result = summarize(engine, "  الجملة الأولى هنا.\nوالجملة الثانية هناك.")
    assert result.summary == "الجملة الأولى هنا."
    assert result.method == "summarize-ar+first-sentence"
    assert len(engine.calls) == 1


def test_summarizer_map_reduce_reads_every_chunk() -> None:
    engine = FirstWordSummarizer()
    article = " ".join(f"الجملة{i} فيها بعض الكلمات الأخرى." for i in range(40))
    result = summarize(engine, article)
    first_round = [text for text in engine.inputs if "فيها" in text]
    assert " ".join(first_round).split() == article.split()  # every word was read, none twice
    assert result.method.startswith("summarize-ar+map-reduce(")


class TwoSentenceSummarizer(LoopingEngine):
    info = info(Task.SUMMARIZATION)

    def answer(self, text: str, params: GenerationParams) -> Generation:
        return Generation("الجملة الأولى هنا. والجملة الثانية هناك.", 5, 9)


def summarize_style(style: str, max_summary_tokens: int = 0) -> tuple[Any, TwoSentenceSummarizer]:
    engine = TwoSentenceSummarizer()
    result = with_scheduler(
        engine,
        lambda s: summary(s, request("مقال قصير.", "ar", max_summary_tokens=max_summary_tokens, style=style)),
    )
    return result, engine


def test_summary_styles_set_length_and_headline_keeps_one_sentence() -> None:
    headline, engine = summarize_style("headline")
    assert headline.summary == "الجملة الأولى هنا." and headline.style == "headline"
    assert (engine.calls[-1].max_new_tokens, engine.calls[-1].length_penalty) == (32, 0.6)
    short, engine = summarize_style("")
    assert short.summary == "الجملة الأولى هنا. والجملة الثانية هناك." and short.style == "short"
    assert (engine.calls[-1].max_new_tokens, engine.calls[-1].length_penalty) == (84, 0.6)
    long, engine = summarize_style("long", max_summary_tokens=120)  # an explicit length wins
    assert long.style == "long" and (engine.calls[-1].max_new_tokens, engine.calls[-1].length_penalty) == (120, 1.5)


def test_unknown_summary_style_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="style 'poem'"):
        summarize_style("poem")


class EchoSummarizer(LoopingEngine):
    """Its summaries are as long as what it reads: a reduce that never converges."""

    info = info(Task.SUMMARIZATION, window=40)

    def answer(self, text: str, params: GenerationParams) -> Generation:
        return Generation(text, 5, 1)


def test_a_reduce_that_does_not_converge_summarizes_the_lead_instead_of_failing() -> None:
    engine = EchoSummarizer()
    article = " ".join(f"الجملة{i} فيها بعض الكلمات الأخرى." for i in range(40))
    result = summarize(engine, article)
    assert result.method.endswith("+lead") and result.summary
    assert len(engine.inputs) < 40  # one map round, then the final summary of what fits the window


def test_an_article_too_large_to_summarize_is_refused_before_the_model_reads_it() -> None:
    engine = FirstWordSummarizer()
    article = " ".join(f"الجملة{i} فيها بعض الكلمات الأخرى." for i in range(40))  # about 10 chunks

    async def use(scheduler: Scheduler) -> Any:
        scheduler.limits = SchedulerLimits(max_batch_size=8, max_queued_jobs=3)
        scheduler.admission.limits = scheduler.limits
        return await summary(scheduler, request(article, "ar"))

    with pytest.raises(InvalidRequestError, match="max_queued_jobs=3"):
        with_scheduler(engine, use)
    assert engine.inputs == []


class TwoSentenceTranslator(LoopingEngine):
    def answer(self, text: str, params: GenerationParams) -> Generation:
        return Generation("The first sentence. And a second one.", 3, 8)


def test_an_english_headline_is_one_sentence_after_translation() -> None:
    async def scenario() -> Any:
        with ThreadPoolExecutor(1) as pool:
            limits = SchedulerLimits(max_batch_size=8)
            calibration = Calibration(tokens_per_second=1e6)
            schedulers = [Scheduler(engine, pool, limits, calibration=calibration)
                          for engine in (TwoSentenceSummarizer(), TwoSentenceTranslator())]  # fmt: skip
            for scheduler in schedulers:
                scheduler.start()
            translator = Translator(schedulers[1], defaults=TranslationDefaults(), limits=RequestLimits())
            summarizer = Summarizer(
                schedulers[0], defaults=SummarizationDefaults(), limits=RequestLimits(), translator=translator
            )
            try:
                admitted = summarizer.admit(request("مقال قصير.", "en", style="headline"), context=CONTEXT)
                return await summarizer.summarize(admitted)
            finally:
                for scheduler in schedulers:
                    await scheduler.stop()

    result = asyncio.run(scenario())
    assert result.summary == "The first sentence."
