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
from .languages import UNDETERMINED, detect_language, language_name, warm_up
from .normalization import normalize_for_model
from .repetition import is_degenerate
from .segmentation import LINE_BREAKS, Span, lines, rebuild, segment, trailing_whitespace

# A model's output never adds line breaks: the document keeps its own.
_NO_LINE_BREAKS = dict.fromkeys(map(ord, LINE_BREAKS), " ")


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
    # The language of this segment's paragraph (or the request's source_language).
    detected_language: str = ""
    # The document's trailing whitespace, on its last segment only.
    trailing: str = ""


@dataclass(frozen=True)
class DocumentPlan:
    """A document cut into segments, ready to translate."""

    text_index: int
    # The language that was translated, or the main language of a text passed through.
    source_language: str
    spans: list[Span]
    # Per span: its paragraph's language, and what the model reads (None: passed
    # through unchanged, being in the target language, in no language, or in an
    # untranslatable language inside a mostly translatable document).
    languages: list[str]
    model_inputs: list[str | None]
    trailing: str = ""


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
        warm_up()  # load the language identifier at start-up, not on the first request

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
        """Check languages and segment every text. CPU work (tokenizer calls): run it off the loop.

        With ``source_language`` set, every segment is read as that language (the same
        as the target: passed through). Without, each paragraph (line) is identified on
        its own: the target language and text without letters pass through unchanged,
        the model's source languages are translated, and other languages pass through
        flagged when the translatable paragraphs outweigh them, else the request is refused."""
        target = target_language or "en"
        if target not in self.info.target_languages:
            raise UnsupportedLanguageError(
                f"target_language {target!r} is not supported: the loaded model translates {self._pair_text()}"
            )
        if source_language and source_language != target and not self.supports(source_language, target):
            raise UnsupportedLanguageError(
                f"language pair {source_language} → {target} is not supported: "
                f"the loaded model translates {self._pair_text()}"
            )
        return [self._plan_text(index, text, source_language, target) for index, text in enumerate(texts)]

    def _count_model_tokens(self, text: str) -> int:
        return self.engine.count_tokens(normalize_for_model(text))

    def _plan_text(self, index: int, text: str, source_language: str, target: str) -> DocumentPlan:
        spans = segment(text, self._count_model_tokens, self.max_segment_tokens)
        if not spans:
            raise InvalidRequestError(f"texts[{index}] is empty: send text with at least one non-space character")
        languages = [source_language] * len(spans) if source_language else self._span_languages(text, spans)
        translated = [language != target and self.supports(language, target) for language in languages]
        size: dict[str, int] = {}
        for span, language in zip(spans, languages, strict=True):
            size[language] = size.get(language, 0) + len(span.text)
        translatable = sum(n for language, n in size.items() if self.supports(language, target))
        foreign = {
            language: n
            for language, n in size.items()
            if language not in (target, UNDETERMINED) and not self.supports(language, target)
        }
        if foreign and sum(foreign.values()) >= translatable:
            main = max(foreign, key=lambda language: foreign[language])
            raise UnsupportedLanguageError(
                f"texts[{index}] looks like {language_name(main)} ({main!r}) text, but the loaded model translates "
                f"{self._pair_text()}; set source_language if the detection is wrong"
            )
        model_inputs: list[str | None] = []
        for span, translate in zip(spans, translated, strict=True):
            model_input = normalize_for_model(span.text).strip() if translate else ""
            model_inputs.append(model_input or None)  # nothing left for the model: pass through
        used = [language for language, text in zip(languages, model_inputs, strict=True) if text is not None]
        main_language = used[0] if used else max(size, key=lambda language: size[language])
        return DocumentPlan(
            text_index=index,
            source_language=main_language,
            spans=spans,
            languages=languages,
            model_inputs=model_inputs,
            trailing=trailing_whitespace(text, spans),
        )

    @staticmethod
    def _span_languages(text: str, spans: list[Span]) -> list[str]:
        """The language of each span's line (a span never crosses a line break)."""
        by_text: dict[str, str] = {}  # a repeated line is identified once
        languages: list[str] = []
        line_iter = lines(text)
        line_end = -1
        language = UNDETERMINED
        for span in spans:
            if span.start >= line_end:  # the first span of a new line: identify the line once
                line_start, line_end = next(line_iter)
                while span.start >= line_end:
                    line_start, line_end = next(line_iter)
                line = text[line_start:line_end]
                language = by_text.get(line) or by_text.setdefault(line, detect_language(line))
            languages.append(language)
        return languages

    @property
    def max_segment_tokens(self) -> int:
        return min(self.defaults.max_segment_tokens, self.info.max_input_tokens)

    def submit(
        self, plans: Sequence[DocumentPlan], params: GenerationParams
    ) -> list[list[asyncio.Future[Generation] | None]]:
        """Queue every translated segment of every document at once (so they share
        batches). Segments passed through need no model: they get ``None``."""
        flat = [text for plan in plans for text in plan.model_inputs if text is not None]
        futures = iter(self.scheduler.submit(flat, params))
        return [[None if text is None else next(futures) for text in plan.model_inputs] for plan in plans]

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
        self, span: Span, model_input: str | None, future: asyncio.Future[Generation] | None, params: GenerationParams
    ) -> Generation:
        if future is None or model_input is None:  # passed through unchanged
            return Generation(text=span.text, input_tokens=0, output_tokens=0)
        generation = await self._guarded(model_input, await future, params)
        return dataclasses.replace(generation, text=generation.text.translate(_NO_LINE_BREAKS).strip())

    async def stream(
        self, plans: Sequence[DocumentPlan], params: GenerationParams
    ) -> AsyncIterator[tuple[DocumentPlan, TranslatedSegment]]:
        """Segments in document order, each as soon as it and those before it are done."""
        grouped = self.submit(plans, params)
        # One task per segment, started now, so repetition retries are queued as
        # soon as their first attempt finishes and share batches with each other.
        tasks = [
            [
                asyncio.ensure_future(self._finish(span, model_input, future, params))
                for span, model_input, future in zip(plan.spans, plan.model_inputs, futures, strict=True)
            ]
            for plan, futures in zip(plans, grouped, strict=True)
        ]
        try:
            for plan, pending in zip(plans, tasks, strict=True):
                for index, (span, task) in enumerate(zip(plan.spans, pending, strict=True)):
                    generation = await task
                    translated = plan.model_inputs[index] is not None
                    separator = span.separator
                    if translated and not separator and span.sentence_start and index:
                        separator = " "  # "جملة.جملة": translated sentences still need a space between them
                    yield (
                        plan,
                        TranslatedSegment(
                            index=index,
                            source=span.text,
                            translation=generation.text,
                            start=span.start,
                            end=span.end,
                            separator=separator,
                            input_tokens=generation.input_tokens,
                            output_tokens=generation.output_tokens,
                            detected_language=plan.languages[index],
                            trailing=plan.trailing if index == len(plan.spans) - 1 else "",
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
                    [s.separator for s in segments[plan.text_index]],
                    [s.translation for s in segments[plan.text_index]],
                    plan.trailing,
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
