"""The translation pipeline without a transport, on scripted engines: the repetition guard
and the default decoding. The summarization pipeline has test_summarization.py."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tarjama_server.core.admission import Calibration
from tarjama_server.core.context import RequestContext
from tarjama_server.core.limits import RequestLimits, SchedulerLimits
from tarjama_server.core.recipes import TranslationDefaults
from tarjama_server.core.requests import TranslationRequest
from tarjama_server.core.scheduler import Scheduler
from tarjama_server.core.translation import Translator
from tarjama_server.engines.base import Generation, GenerationParams, ModelInfo, Task


def info(task: Task, window: int = 512) -> ModelInfo:
    return ModelInfo("scripted", task, "local", ("ar",), ("en",) if task is Task.TRANSLATION else ("ar",),
                     "none", "fake", "cpu", window)  # fmt: skip


class LoopingEngine:
    """Loops under plain decoding, behaves once n-gram blocking is on."""

    info = info(Task.TRANSLATION)

    def __init__(self) -> None:
        self.calls: list[GenerationParams] = []
        self.inputs: list[str] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 1

    def generate(self, texts: Sequence[str], params: GenerationParams) -> list[Generation]:
        self.calls.append(params)
        self.inputs.extend(texts)
        return [self.answer(text, params) for text in texts]

    def answer(self, text: str, params: GenerationParams) -> Generation:
        if params.no_repeat_ngram_size:
            return Generation(f"translated {text}", 3, 4)
        return Generation("sorry sorry sorry sorry sorry", 3, 6)


CONTEXT = RequestContext(request_id="test")


def with_scheduler(engine: Any, use: Callable[[Scheduler], Awaitable[Any]]) -> Any:
    """Run ``use(scheduler)`` on a fresh event loop with a started scheduler."""

    async def scenario() -> Any:
        with ThreadPoolExecutor(1) as pool:
            limits = SchedulerLimits(max_batch_size=8)
            scheduler = Scheduler(engine, pool, limits, calibration=Calibration(tokens_per_second=1e6))
            scheduler.start()
            try:
                return await use(scheduler)
            finally:
                await scheduler.stop()

    return asyncio.run(scenario())


def translate(defaults: TranslationDefaults, texts: list[str], engine: LoopingEngine) -> Any:
    async def use(scheduler: Scheduler) -> Any:
        translator = Translator(scheduler, defaults=defaults, limits=RequestLimits())
        return await translator.translate(translator.admit(TranslationRequest(texts=texts), context=CONTEXT))

    return with_scheduler(engine, use)


def test_looping_output_is_retranslated_with_ngram_blocking() -> None:
    engine = LoopingEngine()
    result = translate(TranslationDefaults(), ["جملة أولى. جملة ثانية."], engine)
    document = result.documents[0]
    assert [s.translation for s in document.segments] == ["translated جملة أولى.", "translated جملة ثانية."]
    assert document.text == "translated جملة أولى. translated جملة ثانية."
    assert engine.calls[0].no_repeat_ngram_size == 0
    assert all(p.no_repeat_ngram_size == 3 and p.repetition_penalty == 1.3 for p in engine.calls[1:])
    assert result.report.usage.output_tokens == 2 * (6 + 4)  # both attempts are counted


def test_guard_can_be_turned_off() -> None:
    result = translate(TranslationDefaults(repetition_guard=False), ["جملة."], LoopingEngine())
    assert result.documents[0].text == "sorry sorry sorry sorry sorry"


def test_default_decoding_caps_new_tokens_relative_to_input() -> None:
    defaults = TranslationDefaults(num_beams=4)
    assert defaults.params() == GenerationParams(num_beams=4, max_new_tokens=0, max_new_tokens_ratio=2.5)
    assert defaults.params(2, 100) == GenerationParams(num_beams=2, max_new_tokens=100, max_new_tokens_ratio=0.0)
