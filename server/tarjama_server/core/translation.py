"""The translation pipeline: check the request, take a place in line, plan, translate the
model's spans in pooled batches, rebuild each document.

``admit`` checks the request and reserves its place in line on its length (a refusal
costs no tokenizing); from then on ``AdmittedTranslation.report_so_far`` tells what it
has cost, however it ends. ``stream`` or ``translate`` then runs it: plans the texts off
the event loop, settles the ticket on the real token count, and yields each segment as
soon as it and those before it are done (``stream``) or waits for all and rebuilds the
documents (``translate``); either closes the ticket, whatever the end. Every span the
model reads of every document is queued at once, in document order, so they share
batches. A segment whose output loops is translated again with n-gram blocking
(``recipes``), keeping its request's place in line and its segment's order.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field

from .. import metrics
from ..engines.base import Generation, GenerationParams, ModelInfo
from ..text.glossary import Glossary
from ..text.languages import warm_up
from ..text.repetition import is_degenerate
from ..text.segmentation import LINE_BREAKS
from .context import Report, RequestContext, Usage
from .limits import RequestLimits
from .planning import DocumentPlan, PlannedSpan, Planner, SpanTranslation, rebuild_document
from .recipes import TranslationDefaults
from .requests import CheckedTranslation, TranslationRequest, check_translation
from .scheduler import Scheduler
from .tickets import Ticket

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

    def report_so_far(self) -> Report:
        return Report(
            texts=len(self.plans),
            segments=sum(plan.segment_count for plan in self.plans),
            usage=self.usage,
            timings=self.ticket.timings(),
        )


class Translator:
    def __init__(self, scheduler: Scheduler, *, defaults: TranslationDefaults, limits: RequestLimits) -> None:
        self.scheduler = scheduler
        self.engine = scheduler.engine
        self.defaults = defaults
        self.limits = limits
        self.planner = Planner(self.engine.info, self.engine.count_tokens, defaults.max_segment_tokens)
        warm_up()  # load the language identifier at start-up, not on the first request

    @property
    def info(self) -> ModelInfo:
        return self.engine.info

    def supports(self, source_language: str, target_language: str) -> bool:
        return self.planner.supports(source_language, target_language)

    def admit(self, request: TranslationRequest, *, context: RequestContext, early: int = 0) -> AdmittedTranslation:
        """Check the request and take its place in line, or raise at once: InvalidRequestError,
        or OverloadedError when it could not finish by its deadline. ``early``: how many
        leading segments to schedule ahead of other requests' later ones (streaming)."""
        # The model's own output limit (its decoder positions), as ListModels reports it.
        checked = check_translation(request, self.limits, max_new_tokens=self.info.max_output_tokens)
        return self._admit(checked, context=context, early=early, force=False)

    def _admit(
        self, checked: CheckedTranslation, *, context: RequestContext, early: int, force: bool
    ) -> AdmittedTranslation:
        # Judged on the texts' length before any planning: under overload, refusals cost no tokenizing.
        ticket = self.scheduler.reserve(
            chars=sum(map(len, checked.texts)), deadline=context.deadline, early=early, force=force
        )
        params = self.defaults.params(checked.num_beams, checked.max_new_tokens)
        return AdmittedTranslation(checked=checked, params=params, ticket=ticket)

    async def stream(self, admitted: AdmittedTranslation) -> AsyncGenerator[TranslatedSegment, None]:
        """Segments in document order, each as soon as it and those before it are done."""
        numbers: dict[int, int] = {}  # segments so far, by text
        async with contextlib.aclosing(self._translated(admitted)) as items:
            async for plan, position, item in items:
                if item.planned.is_segment:
                    number = numbers.get(plan.text_index, 0)
                    numbers[plan.text_index] = number + 1
                    yield _segment(plan, position, item, number)

    async def translate(self, admitted: AdmittedTranslation) -> TranslationResult:
        """Every document translated and rebuilt."""
        done: dict[int, list[SpanTranslation]] = {}
        async with contextlib.aclosing(self._translated(admitted)) as items:
            async for plan, _, item in items:
                done.setdefault(plan.text_index, []).append(item)
        documents = []
        for plan in admitted.plans:
            spans = done.get(plan.text_index, [])
            positions = [position for position, item in enumerate(spans) if item.planned.is_segment]
            documents.append(
                DocumentTranslation(
                    text=rebuild_document(plan, spans),
                    segments=[_segment(plan, position, spans[position], n) for n, position in enumerate(positions)],
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
        """Plan, queue every model input at once, then yield each span once it is done, in
        document order: its plan, its position there, its translation. Whatever the end, what
        is still queued is withdrawn and the ticket closed."""
        futures: list[asyncio.Future[Generation]] = []
        tasks: list[list[asyncio.Task[Generation]]] = []
        completed = False
        try:
            await self._plan(admitted)
            futures, tasks = self._start(admitted)
            for plan, pending in zip(admitted.plans, tasks, strict=True):
                for position, (planned, task) in enumerate(zip(plan.spans, pending, strict=True)):
                    generation = await task
                    usage = Usage.of([generation])
                    admitted.usage += usage
                    separator = planned.span.separator
                    if planned.model_input is not None and not separator and planned.span.sentence_start and position:
                        separator = " "  # "جملة.جملة": translated sentences still need a space between them
                    yield plan, position, SpanTranslation(planned, generation.text, separator, usage)
            completed = True
        finally:
            # The caller went away (deadline, cancel, error), or all is done: withdraw what is still
            # queued. Futures are cancelled too: a task cancelled before it first runs never awaits its own.
            for waiting in (*futures, *(task for pending in tasks for task in pending)):
                waiting.cancel()
            self.scheduler.close(admitted.ticket, completed=completed)

    async def _plan(self, admitted: AdmittedTranslation) -> None:
        """Plan the texts off the event loop, then judge the request on its real tokens."""
        checked = admitted.checked
        cancelled = threading.Event()
        try:
            admitted.plans = await asyncio.to_thread(
                self.planner.plan,
                checked.texts,
                source_language=checked.source_language,
                target_language=checked.target_language,
                html=checked.html,
                glossary=checked.glossary,
                cancelled=cancelled,
            )
        except BaseException:
            cancelled.set()  # the caller left (or planning failed): stop planning at the next text
            raise
        tokens = [planned.tokens for plan in admitted.plans for planned in plan.model_spans]
        self.scheduler.settle(
            admitted.ticket,
            input_tokens=sum(tokens),
            most_tokens=self.defaults.most_tokens(tokens, admitted.params, self.info),
            jobs=len(tokens),
        )

    def _start(
        self, admitted: AdmittedTranslation
    ) -> tuple[list[asyncio.Future[Generation]], list[list[asyncio.Task[Generation]]]]:
        """Queue every model input of every document, in document order, so they share batches;
        and start one task per span, so repetition retries are queued as soon as their first
        attempt finishes and share batches with each other. Returns the jobs' futures and the
        tasks, by document."""
        ticket, params = admitted.ticket, admitted.params
        model_spans = [planned for plan in admitted.plans for planned in plan.model_spans]
        futures = self.scheduler.submit(
            ticket,
            [planned.model_input for planned in model_spans if planned.model_input is not None],
            params,
            input_tokens=[planned.tokens for planned in model_spans],
        )
        queued = iter(futures)
        orders = itertools.count()  # each span's place within the request
        tasks = [
            [
                asyncio.ensure_future(
                    self._finish(admitted, next(orders), planned, None if planned.model_input is None else next(queued))
                )
                for planned in plan.spans
            ]
            for plan in admitted.plans
        ]
        return futures, tasks

    async def _finish(
        self,
        admitted: AdmittedTranslation,
        order: int,
        planned: PlannedSpan,
        future: asyncio.Future[Generation] | None,
    ) -> Generation:
        if future is None or planned.model_input is None:  # passed through unchanged
            return Generation(text=planned.span.text, input_tokens=0, output_tokens=0)
        generation = await self._guarded(admitted, order, planned.model_input, await future)
        return Generation(
            text=generation.text.translate(_NO_LINE_BREAKS).strip(),
            input_tokens=generation.input_tokens,
            output_tokens=generation.output_tokens,
        )

    async def _guarded(
        self, admitted: AdmittedTranslation, order: int, source: str, generation: Generation
    ) -> Generation:
        """Re-translate a looping output once with n-gram blocking and a repetition penalty.
        The retry keeps its request's place in line and its segment's order."""
        if not self.defaults.repetition_guard or not is_degenerate(generation.text):
            return generation
        retry = self.defaults.retry_params(admitted.params)
        (future,) = self.scheduler.submit(
            admitted.ticket, [source], retry, orders=[order], input_tokens=[generation.input_tokens]
        )
        metrics.REPETITION_RETRIES.inc()
        retried = await future
        return Generation(
            text=retried.text,
            input_tokens=generation.input_tokens + retried.input_tokens,
            output_tokens=generation.output_tokens + retried.output_tokens,
        )


def _segment(plan: DocumentPlan, position: int, item: SpanTranslation, number: int) -> TranslatedSegment:
    """The segment made of ``item``, at ``position`` among ``plan``'s spans and ``number`` among its segments."""
    span = item.planned.span
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
        glossary_missing=tuple(Glossary.missing(item.translation, item.planned.glossary_matches)),
    )
