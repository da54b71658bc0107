"""The translation pipeline: check the request, take a place in line, plan, translate the
model's spans in pooled batches, rebuild each document.

``admit`` checks the request and reserves its place in line on its length (a refusal
costs no tokenizing). ``stream`` or ``translate`` then runs it: plans the texts off
the event loop, settles the ticket on the real token count, and yields each segment as
soon as it and those before it are done (``stream``: a ``TranslationEvent`` carrying all a
transport sends with it) or waits for all and rebuilds the documents (``translate``);
either closes the ticket and sends the call's ``Report`` to the sink given at admission,
whatever the end. Every span the
model reads of every document is queued at once, in document order, so they share
batches. A segment whose output loops is translated again with n-gram blocking
(``recipes``), keeping its request's place in line and its segment's order.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import threading
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field

from .. import metrics
from ..engines.base import Generation, GenerationParams, Hypothesis, ModelInfo
from ..errors import FeatureDisabledError
from ..text.glossary import Glossary
from ..text.languages import ARABIC_SCRIPT_LANGUAGES, arabic_script_chars, warm_up
from ..text.repetition import is_degenerate
from ..text.segmentation import LINE_BREAKS
from .alignment import (
    SegmentAlignment,
    glossary_missing,
    placed_by_alignment,
    segment_alignment,
    shifted,
    tag_placement,
    tag_targets,
)
from .cache import ResultCache, text_bytes
from .context import Report, ReportSink, RequestContext, Timings, Usage
from .desk import Desk, MemoryMatch, read_memory
from .limits import RequestLimits
from .planning import DocumentPlan, PlannedSpan, Planner, SpanTranslation, rebuild_document
from .recipes import TranslationDefaults
from .requests import CheckedTranslation, TranslationRequest, check_translation
from .scheduler import Scheduler
from .tickets import Ticket
from .trust import ModelOutput, SegmentFlag, confidence, translated_flags

# A model's output never adds line breaks: the document keeps its own.
_NO_LINE_BREAKS = dict.fromkeys(map(ord, LINE_BREAKS), " ")


@dataclass(frozen=True, kw_only=True)
class TranslatedSegment:
    text_index: int  # the text of the request it belongs to
    index: int  # its place among that text's segments
    source: str
    translation: str
    start: int
    end: int
    separator: str
    usage: Usage  # what the model read and wrote for it, retries included
    # The language of this segment's paragraph (or the request's source_language).
    detected_language: str = ""
    # The document's trailing whitespace, on its last segment only.
    trailing: str = ""
    # Glossary terms found in this segment whose rendering the translation lacks.
    glossary_missing: tuple[str, ...] = ()
    # The model's mean log-probability per token for the translation (None: passed through).
    log_probability: float | None = None
    flags: tuple[SegmentFlag, ...] = ()
    alternatives: tuple[Hypothesis, ...] = ()
    # Word alignment and word scores (when the request asked; None on segments passed through).
    alignment: SegmentAlignment | None = None
    # For an HTML segment with inline tags: "alignment" or "position", the rule that placed them.
    tag_placement: str = ""
    # With a memory: its approved entry (flag FROM_MEMORY) or nearest match (flag MEMORY_MATCH).
    memory_match: MemoryMatch | None = None

    @property
    def confidence(self) -> float | None:
        return None if self.log_probability is None else confidence(self.log_probability)


@dataclass(frozen=True, kw_only=True)
class TranslationEvent:
    """One streamed segment and what a transport sends with it: its text's segment count
    (progress), the language identified for that text, the model; the call's ``report`` on
    the last event of the call (every segment of every text sent), else None."""

    segment: TranslatedSegment
    total_segments: int
    detected_language: str
    model: str
    report: Report | None = None

    @property
    def timings(self) -> Timings | None:
        return None if self.report is None else self.report.timings


@dataclass(frozen=True, kw_only=True)
class DocumentTranslation:
    text: str
    segments: list[TranslatedSegment]
    detected_language: str


@dataclass(frozen=True, kw_only=True)
class TranslationResult:
    documents: list[DocumentTranslation]
    model: str
    report: Report


@dataclass(kw_only=True)
class AdmittedTranslation:
    """A request checked and given its place in line. Run it with ``Translator.stream`` or
    ``Translator.translate``, each of which closes its ticket however it ends: a request
    admitted and never run holds its place (and its share of the queue) until the server stops."""

    checked: CheckedTranslation
    params: GenerationParams
    ticket: Ticket
    plans: list[DocumentPlan] = field(default_factory=list)  # once planned
    usage: Usage = field(default_factory=Usage)
    # Outputs found in the cache when planned, by model input: they cost no admission and no batch slot.
    cached: dict[str, ModelOutput] = field(default_factory=dict)
    # The memory's matches when planned, by memory key: an exact one replaces the model's work.
    memory: dict[str, MemoryMatch] = field(default_factory=dict)

    def from_memory(self, planned: PlannedSpan) -> MemoryMatch | None:
        """The memory's approved entry for ``planned`` (a segment): it is not translated."""
        match = self.memory.get(planned.memory_key) if planned.is_segment else None
        return match if match is not None and match.similarity == 1.0 else None

    # Told the call's report once the run ends (the transport's access log).
    on_report: ReportSink | None = None
    # Characters of the model inputs this call had the model translate (not cached, shared or remembered).
    model_characters: int = 0

    def report_so_far(self) -> Report:
        return Report(
            texts=len(self.plans),
            segments=sum(plan.segment_count for plan in self.plans),
            usage=self.usage,
            timings=self.ticket.timings(),
            model_characters=self.model_characters,
        )


class Translator:
    def __init__(
        self,
        scheduler: Scheduler,
        *,
        defaults: TranslationDefaults,
        limits: RequestLimits,
        cache: ResultCache[object] | None = None,
        desk: Desk | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.desk = desk  # glossaries and translation memory; None: the desk is off
        self.engine = scheduler.engine
        self.defaults = defaults
        self.limits = limits
        self.cache = cache if cache is not None else ResultCache[object](0)
        self.planner = Planner(self.engine.info, self.engine.count_tokens, defaults.max_segment_tokens)
        warm_up()  # load the language identifier at start-up, not on the first request

    @property
    def info(self) -> ModelInfo:
        return self.engine.info

    def supports(self, source_language: str, target_language: str) -> bool:
        return self.planner.supports(source_language, target_language)

    @property
    def default_target_language(self) -> str:
        return self.planner.default_target_language

    def _target(self, checked: CheckedTranslation) -> str:
        return checked.target_language or self.default_target_language

    def admit(
        self,
        request: TranslationRequest,
        *,
        context: RequestContext,
        early: int = 0,
        on_report: ReportSink | None = None,
    ) -> AdmittedTranslation:
        """Check the request and take its place in line, or raise at once: InvalidRequestError,
        or OverloadedError when it could not finish by its deadline. ``early``: how many
        leading segments to schedule ahead of other requests' later ones (streaming).
        ``on_report``: told the call's report once its run ends, however it ends."""
        # The model's own output limit (its decoder positions), as ListModels reports it.
        checked = check_translation(request, self.limits, max_new_tokens=self.info.max_output_tokens)
        admitted = self._admit(checked, context=context, early=early, force=False)
        admitted.on_report = on_report
        return admitted

    def _admit(
        self, checked: CheckedTranslation, *, context: RequestContext, early: int, force: bool
    ) -> AdmittedTranslation:
        # Judged on the length of what may reach the model, before any planning: under overload,
        # refusals cost no tokenizing, and text that passes through is not charged as model work.
        ticket = self.scheduler.reserve(
            chars=self._model_chars(checked), deadline=context.deadline, early=early, force=force
        )
        params = self.defaults.params(
            checked.num_beams, checked.max_new_tokens, checked.alternatives, checked.alignment
        )
        return AdmittedTranslation(checked=checked, params=params, ticket=ticket)

    def _model_chars(self, checked: CheckedTranslation) -> int:
        """Characters of the texts the model may read: none when the source is the target; all
        with a source language given; else those of the paragraphs that may be in a language
        the model reads (for Arabic, those holding Arabic script: found without identifying)."""
        target = self._target(checked)
        if checked.source_language:
            return 0 if checked.source_language == target else sum(map(len, checked.texts))
        if set(self.info.source_languages) <= ARABIC_SCRIPT_LANGUAGES:
            return sum(map(arabic_script_chars, checked.texts))
        return sum(map(len, checked.texts))

    async def stream(self, admitted: AdmittedTranslation) -> AsyncGenerator[TranslationEvent, None]:
        """Segments in document order, each as soon as it and those before it are done; the
        call's report rides on the last."""
        numbers: dict[int, int] = {}  # segments so far, by text
        target = self._target(admitted.checked)
        sent = total = 0
        async with contextlib.aclosing(self._translated(admitted)) as items:
            async for plan, position, item in items:
                if item.planned.is_segment:
                    number = numbers.get(plan.text_index, 0)
                    numbers[plan.text_index] = number + 1
                    sent += 1
                    total = total or sum(planned.segment_count for planned in admitted.plans)  # planned by now
                    yield TranslationEvent(
                        segment=_segment(plan, position, item, number, target),
                        total_segments=plan.segment_count,
                        detected_language=plan.source_language,
                        model=self.info.label,
                        report=admitted.report_so_far() if sent == total else None,
                    )

    async def translate(self, admitted: AdmittedTranslation) -> TranslationResult:
        """Every document translated and rebuilt."""
        done: dict[int, list[SpanTranslation]] = {}
        target = self._target(admitted.checked)
        async with contextlib.aclosing(self._translated(admitted)) as items:
            async for plan, _, item in items:
                done.setdefault(plan.text_index, []).append(item)
        documents = []
        for plan in admitted.plans:
            spans = done.get(plan.text_index, [])
            positions = [position for position, item in enumerate(spans) if item.planned.is_segment]
            segments = [_segment(plan, position, spans[position], n, target) for n, position in enumerate(positions)]
            # The segments' alignments place their inline tags: each is worked out once, in _segment.
            aligned = {
                id(spans[position]): segment.alignment for position, segment in zip(positions, segments, strict=True)
            }
            documents.append(
                DocumentTranslation(
                    text=rebuild_document(
                        plan, spans, _tag_ranges(plan, aligned) if admitted.checked.alignment else None
                    ),
                    segments=segments,
                    detected_language=plan.source_language,
                )
            )
        return TranslationResult(documents=documents, model=self.info.label, report=admitted.report_so_far())

    async def translate_produced(
        self, texts: Sequence[str], *, source_language: str, target_language: str, context: RequestContext
    ) -> TranslationResult:
        """Text the server produced for a request it already accepted (a summary): in known
        languages, with the default decoding, admitted without the capacity check."""
        checked = CheckedTranslation(texts=texts, source_language=source_language, target_language=target_language)
        return await self.translate(self._admit(checked, context=context, early=0, force=True))

    async def _translated(
        self, admitted: AdmittedTranslation
    ) -> AsyncGenerator[tuple[DocumentPlan, int, SpanTranslation], None]:
        """Plan, start every span's work at once, then yield each span once it is done, in
        document order: its plan, its position there, its translation. Whatever the end, what
        is still queued is withdrawn and the ticket closed."""
        tasks: list[list[asyncio.Task[ModelOutput | None]]] = []
        completed = False
        try:
            await self._plan(admitted)
            tasks = self._start(admitted)
            for plan, pending in zip(admitted.plans, tasks, strict=True):
                for position, (planned, task) in enumerate(zip(plan.spans, pending, strict=True)):
                    output = await task
                    usage = output.usage if output is not None else Usage()
                    admitted.usage += usage
                    separator = planned.span.separator
                    if planned.model_input is not None and not separator and planned.span.sentence_start and position:
                        separator = " "  # "جملة.جملة": translated sentences still need a space between them
                    match = admitted.memory.get(planned.memory_key) if planned.is_segment else None
                    exact = admitted.from_memory(planned)
                    text = (
                        exact.entry.translation
                        if exact is not None
                        else planned.span.text
                        if output is None
                        else output.generation.text
                    )
                    yield plan, position, SpanTranslation(planned, text, separator, usage, output, match)
            completed = True
        finally:
            # The caller went away (deadline, cancel, error), or all is done: stop what is still
            # running; closing the ticket withdraws its queued jobs.
            for task in (task for pending in tasks for task in pending):
                task.cancel()
            self.scheduler.close(admitted.ticket, completed=completed)
            if admitted.on_report is not None:
                admitted.on_report(admitted.report_so_far())

    async def _glossary(self, checked: CheckedTranslation) -> Glossary | None:
        """The request's glossary: the stored one it names (``glossary_id``), its own terms winning."""
        if not checked.glossary_id:
            return checked.glossary
        if self.desk is None:
            raise FeatureDisabledError(
                "glossary_id names a stored glossary, but the desk is off on this server (--database-url none): "
                "send the terms in glossary instead"
            )
        stored = await self.desk.glossary_terms(checked.glossary_id)
        return Glossary({**stored, **(checked.glossary.terms if checked.glossary else {})})

    async def _read_memory(self, admitted: AdmittedTranslation) -> None:
        """The memory's matches for every segment the model would read, by language pair."""
        checked = admitted.checked
        if not checked.memory:
            return
        if self.desk is None:
            raise FeatureDisabledError(
                "memory names a translation memory, but the desk is off on this server (--database-url none)"
            )
        least = checked.memory_min_similarity or self.desk.limits.min_similarity
        target = self._target(checked)
        keys: dict[str, set[str]] = {}
        for plan in admitted.plans:
            for planned in plan.model_spans:
                if planned.is_segment and planned.memory_key:
                    keys.setdefault(planned.language, set()).add(planned.memory_key)
        for language, wanted in keys.items():
            admitted.memory.update(await read_memory(self.desk, checked.memory, language, target, wanted, least))

    def _cache_key(self, model_input: str, params: GenerationParams) -> tuple[object, ...]:
        """Everything that decides a model input's output: the model and its revision, the
        engine and its compute type, the device, the decoding settings, the exact input."""
        info = self.info
        return ("translation", info.label, info.engine, info.device, params, model_input)

    async def _plan(self, admitted: AdmittedTranslation) -> None:
        """Plan the texts off the event loop, then judge the request on the real tokens of the
        model inputs the cache does not hold (a cached output costs no admission)."""
        checked = admitted.checked
        cancelled = threading.Event()
        glossary = await self._glossary(checked)
        try:
            admitted.plans = await asyncio.to_thread(
                self.planner.plan,
                checked.texts,
                source_language=checked.source_language,
                target_language=checked.target_language,
                html=checked.html,
                glossary=glossary,
                cancelled=cancelled,
                deadline=admitted.ticket.deadline,
            )
        except BaseException:
            cancelled.set()  # the caller left (or planning failed): planning stops at its next check
            raise
        await self._read_memory(admitted)
        tokens = []
        for plan in admitted.plans:
            for planned in plan.model_spans:
                assert planned.model_input is not None
                if admitted.from_memory(planned) is not None:  # read before the cache; costs no admission
                    continue
                stored = self.cache.peek(self._cache_key(planned.model_input, admitted.params))
                if isinstance(stored, ModelOutput):
                    admitted.cached[planned.model_input] = stored
                else:
                    tokens.append(planned.tokens)
        self.scheduler.settle(
            admitted.ticket,
            input_tokens=sum(tokens),
            most_tokens=self.defaults.most_tokens(tokens, admitted.params, self.info),
            jobs=len(tokens),
        )

    def _start(self, admitted: AdmittedTranslation) -> list[list[asyncio.Task[ModelOutput | None]]]:
        """One task per span, by document, started in document order: each queues its model
        input as soon as it runs (all before the scheduler takes its next batch, so they share
        batches), unless the cache holds it or the same input is already being translated; its
        repetition retry is queued as soon as its first attempt finishes. None: passed through."""
        # Refused whole, before any is queued, when its model inputs would overflow the queue.
        misses = {
            p.model_input for plan in admitted.plans for p in plan.model_spans if admitted.from_memory(p) is None
        } - admitted.cached.keys()
        self.scheduler.ensure_room(len(misses))
        orders = itertools.count()  # each span's place within the request
        return [
            [asyncio.ensure_future(self._output(admitted, next(orders), planned)) for planned in plan.spans]
            for plan in admitted.plans
        ]

    async def _output(self, admitted: AdmittedTranslation, order: int, planned: PlannedSpan) -> ModelOutput | None:
        source = planned.model_input
        if source is None or admitted.from_memory(planned) is not None:  # passed through, or the memory's
            return None
        stored = admitted.cached.get(source)
        if stored is not None:
            self.cache.count_hit("translation")
            return dataclasses.replace(stored, usage=Usage(), cached=True)

        async def compute() -> object:
            return await self._translate_one(admitted, order, source, planned.tokens)

        output, shared = await self.cache.run(
            self._cache_key(source, admitted.params),
            compute,
            lambda value: text_bytes(source) + (value.size() if isinstance(value, ModelOutput) else 0),
            kind="translation",
        )
        assert isinstance(output, ModelOutput)
        return dataclasses.replace(output, usage=Usage(), cached=True) if shared else output

    async def _translate_one(self, admitted: AdmittedTranslation, order: int, source: str, tokens: int) -> ModelOutput:
        admitted.model_characters += len(source)
        (future,) = self.scheduler.submit(admitted.ticket, [source], admitted.params, input_tokens=[tokens])
        try:
            first = await future
        finally:
            future.cancel()
        generation, retried = await self._guarded(admitted, order, source, first)
        usage = Usage.of([first, generation]) if retried else Usage.of([first])
        text = generation.text.translate(_NO_LINE_BREAKS).strip()
        aligned = None if generation.tokens is None else shifted(generation.tokens, generation.text, text)
        return ModelOutput(
            generation=dataclasses.replace(generation, text=text, tokens=aligned),
            usage=usage,
            retried=retried,
        )

    async def _guarded(
        self, admitted: AdmittedTranslation, order: int, source: str, generation: Generation
    ) -> tuple[Generation, bool]:
        """Re-translate a looping output once with n-gram blocking and a repetition penalty.
        The retry keeps its request's place in line and its segment's order. Returns the
        output kept and whether it is the retry."""
        if not self.defaults.repetition_guard or not is_degenerate(generation.text):
            return generation, False
        retry = self.defaults.retry_params(admitted.params)
        (future,) = self.scheduler.submit(
            admitted.ticket, [source], retry, orders=[order], input_tokens=[generation.input_tokens]
        )
        metrics.REPETITION_RETRIES.inc()
        try:
            return await future, True
        finally:
            future.cancel()


def _segment(plan: DocumentPlan, position: int, item: SpanTranslation, number: int, target: str) -> TranslatedSegment:
    """The segment made of ``item``, at ``position`` among ``plan``'s spans and ``number`` among
    its segments, with its score and flags (``target``: the language translated into)."""
    span = item.planned.span
    missing = tuple(Glossary.missing(item.translation, item.planned.glossary_matches))
    output = item.output
    log_probability: float | None = None
    flags: tuple[SegmentFlag, ...] = (SegmentFlag.PASSED_THROUGH,)
    alternatives: tuple[Hypothesis, ...] = ()
    aligned: SegmentAlignment | None = None
    match = item.memory
    if match is not None and match.similarity == 1.0:
        flags, missing = (SegmentFlag.FROM_MEMORY,), ()  # the approved text: no model, no glossary check
    elif output is not None:
        generation = output.generation
        following = plan.spans[position + 1].span if position + 1 < len(plan.spans) else None
        log_probability, alternatives = generation.log_probability, generation.alternatives
        aligned = segment_alignment(plan, item)
        if aligned is not None and item.planned.glossary_matches:
            missing = tuple(glossary_missing(aligned, item.translation, item.planned.glossary_matches))
        flags = translated_flags(
            source=span.text,
            translation=item.translation,
            target_language=target,
            input_tokens=generation.input_tokens,
            output_tokens=generation.output_tokens,
            retried=output.retried,
            cut=not span.sentence_start or (following is not None and not following.sentence_start),
            glossary_missing=bool(missing),
            cached=output.cached,
            omission=bool(aligned and aligned.omitted),
            unaligned=bool(aligned and aligned.unaligned),
        )
        if match is not None:
            flags = (*flags, SegmentFlag.MEMORY_MATCH)
    return TranslatedSegment(
        text_index=plan.text_index,
        index=number,
        source=span.text,
        translation=item.translation,
        start=span.start,
        end=span.end,
        separator=item.separator,
        usage=item.usage,
        detected_language=item.planned.language,
        trailing=plan.trailing if position == plan.last_segment else "",
        glossary_missing=missing,
        log_probability=log_probability,
        flags=flags,
        alternatives=alternatives,
        alignment=aligned,
        tag_placement=tag_placement(tag_targets(plan, item, aligned)),
        memory_match=match,
    )


def _tag_ranges(
    plan: DocumentPlan, aligned: dict[int, SegmentAlignment | None]
) -> Callable[[SpanTranslation], dict[int, tuple[int, int]]]:
    """For ``rebuild_document``: the inline elements of a segment that its alignment places
    (``aligned``: each segment's alignment, by the id of its ``SpanTranslation``)."""

    def ranges(item: SpanTranslation) -> dict[int, tuple[int, int]]:
        return placed_by_alignment(tag_targets(plan, item, aligned[id(item)]))

    return ranges
