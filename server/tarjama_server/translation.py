"""Document translation: detect, segment, translate segments in pooled batches, rebuild."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from . import metrics
from .batching import BatchScheduler
from .engines.base import Generation, GenerationParams, ModelInfo
from .errors import InvalidRequestError, OverloadedError, UnsupportedLanguageError
from .languages import UNDETERMINED, detect_language
from .repetition import is_degenerate
from .segmentation import Span, rebuild, segment


@dataclass(frozen=True)
class TranslationDefaults:
    num_beams: int = 4
    # Longest segment sent to the model, in tokens. Opus-MT reads 512 but was
    # trained on sentences; quality falls on long inputs, so split earlier.
    max_segment_tokens: int = 256
    # Arabic is terser than English in subword tokens; 2.5x + 8 leaves room for
    # the longest real translations while stopping runaway loops early.
    max_new_tokens_ratio: float = 2.5
    # Re-translate a segment whose output loops, with n-gram blocking on.
    repetition_guard: bool = True


@dataclass(frozen=True)
class TranslatedSegment:
    index: int
    source: str
    translation: str
    start: int
    end: int
    separator: str
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class DocumentPlan:
    """A document cut into segments, ready to translate."""

    text_index: int
    source_language: str
    spans: list[Span]
    # Detected as already in the target language (a caption like "(AFP)"):
    # returned as is rather than sent through the model.
    passthrough: bool = False


@dataclass(frozen=True)
class DocumentTranslation:
    text: str
    segments: list[TranslatedSegment]
    detected_language: str


@dataclass(frozen=True)
class TranslationResult:
    documents: list[DocumentTranslation]
    model: str
    input_tokens: int
    output_tokens: int


class Translator:
    def __init__(self, scheduler: BatchScheduler, defaults: TranslationDefaults) -> None:
        self.scheduler = scheduler
        self.engine = scheduler.engine
        self.defaults = defaults

    @property
    def info(self) -> ModelInfo:
        return self.engine.info

    def supports(self, source_language: str, target_language: str) -> bool:
        return source_language in self.info.source_languages and target_language in self.info.target_languages

    def _pair_text(self) -> str:
        return f"{'/'.join(self.info.source_languages)} → {'/'.join(self.info.target_languages)}"

    def params(self, num_beams: int = 0, max_new_tokens: int = 0) -> GenerationParams:
        return GenerationParams(
            num_beams=num_beams or self.defaults.num_beams,
            max_new_tokens=max_new_tokens,
            max_new_tokens_ratio=0.0 if max_new_tokens else self.defaults.max_new_tokens_ratio,
        )

    def plan(self, texts: Sequence[str], source_language: str, target_language: str) -> list[DocumentPlan]:
        """Check languages and segment every text. CPU work (tokenizer calls): run it off the loop."""
        target = target_language or "en"
        if target not in self.info.target_languages:
            raise UnsupportedLanguageError(
                f"target_language {target!r} is not supported: the loaded model translates {self._pair_text()}"
            )
        plans = []
        for index, text in enumerate(texts):
            source = source_language
            passthrough = False
            if not source:
                detected = detect_language(text)
                # Text without letters (numbers, symbols) goes through the model as is.
                source = self.info.source_languages[0] if detected == UNDETERMINED else detected
                passthrough = source == target
                if not passthrough and not self.supports(source, target):
                    raise UnsupportedLanguageError(
                        f"texts[{index}] looks like {source!r} text, but the loaded model translates "
                        f"{self._pair_text()}; set source_language if the detection is wrong"
                    )
            elif not self.supports(source, target):
                raise UnsupportedLanguageError(
                    f"language pair {source} → {target} is not supported: "
                    f"the loaded model translates {self._pair_text()}"
                )
            spans = segment(text, self.engine.count_tokens, self.max_segment_tokens)
            if not spans:
                raise InvalidRequestError(f"texts[{index}] is empty: send text with at least one non-space character")
            plans.append(DocumentPlan(text_index=index, source_language=source, spans=spans, passthrough=passthrough))
        return plans

    @property
    def max_segment_tokens(self) -> int:
        return min(self.defaults.max_segment_tokens, self.info.max_input_tokens)

    def submit(
        self, plans: Sequence[DocumentPlan], params: GenerationParams
    ) -> list[list[asyncio.Future[Generation] | None]]:
        """Queue every segment of every document at once (so they share batches).
        Pass-through documents need no model: their segments get ``None``."""
        flat = [span.text for plan in plans if not plan.passthrough for span in plan.spans]
        futures = iter(self.scheduler.submit(flat, params))
        return [[None if plan.passthrough else next(futures) for _ in plan.spans] for plan in plans]

    async def _guarded(self, source: str, generation: Generation, params: GenerationParams) -> Generation:
        """Re-translate a looping output once with n-gram blocking and a repetition penalty."""
        if not self.defaults.repetition_guard or not is_degenerate(generation.text):
            return generation
        guarded = dataclasses.replace(params, no_repeat_ngram_size=3, repetition_penalty=1.3)
        try:
            (future,) = self.scheduler.submit([source], guarded)
        except OverloadedError:
            return generation  # this segment was accepted: a full queue must not fail it
        metrics.REPETITION_RETRIES.inc()
        retried = await future
        return Generation(
            text=retried.text,
            input_tokens=generation.input_tokens + retried.input_tokens,
            output_tokens=generation.output_tokens + retried.output_tokens,
        )

    async def _finish(
        self, span: Span, future: asyncio.Future[Generation] | None, params: GenerationParams
    ) -> Generation:
        if future is None:  # pass-through: already in the target language
            return Generation(text=span.text, input_tokens=0, output_tokens=0)
        return await self._guarded(span.text, await future, params)

    async def stream(
        self, plans: Sequence[DocumentPlan], params: GenerationParams
    ) -> AsyncIterator[tuple[DocumentPlan, TranslatedSegment]]:
        """Segments in document order, each as soon as it and those before it are done."""
        grouped = self.submit(plans, params)
        # One task per segment, started now, so repetition retries are queued as
        # soon as their first attempt finishes and share batches with each other.
        tasks = [
            [
                asyncio.ensure_future(self._finish(span, future, params))
                for span, future in zip(plan.spans, futures, strict=True)
            ]
            for plan, futures in zip(plans, grouped, strict=True)
        ]
        try:
            for plan, pending in zip(plans, tasks, strict=True):
                for index, (span, task) in enumerate(zip(plan.spans, pending, strict=True)):
                    generation = await task
                    yield (
                        plan,
                        TranslatedSegment(
                            index=index,
                            source=span.text,
                            translation=generation.text,
                            start=span.start,
                            end=span.end,
                            separator=span.separator,
                            input_tokens=generation.input_tokens,
                            output_tokens=generation.output_tokens,
                        ),
                    )
        finally:
            # The caller went away (deadline, cancel, error): withdraw what is still queued.
            # Queued futures are cancelled too: a task cancelled before it first runs never awaits its own.
            for futures, pending in zip(grouped, tasks, strict=True):
                for waiting in (*futures, *pending):
                    if waiting is not None:
                        waiting.cancel()

    async def translate(self, plans: Sequence[DocumentPlan], params: GenerationParams) -> TranslationResult:
        segments: dict[int, list[TranslatedSegment]] = {plan.text_index: [] for plan in plans}
        async for plan, translated in self.stream(plans, params):
            segments[plan.text_index].append(translated)
        documents = [
            DocumentTranslation(
                text=rebuild(
                    [s.separator for s in segments[plan.text_index]], [s.translation for s in segments[plan.text_index]]
                ),
                segments=segments[plan.text_index],
                detected_language=plan.source_language,
            )
            for plan in plans
        ]
        every = [s for plan in plans for s in segments[plan.text_index]]
        return TranslationResult(
            documents=documents,
            model=self.info.label,
            input_tokens=sum(s.input_tokens for s in every),
            output_tokens=sum(s.output_tokens for s in every),
        )

    async def translate_texts(
        self, texts: Sequence[str], source_language: str, target_language: str, params: GenerationParams
    ) -> TranslationResult:
        plans = await asyncio.to_thread(self.plan, texts, source_language, target_language)
        return await self.translate(plans, params)
