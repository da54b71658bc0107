"""Document translation: detect, segment, translate segments in pooled batches, rebuild."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import threading
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field

from . import markup, metrics
from .batching import BatchScheduler, RequestStats, Ticket
from .engines.base import Generation, GenerationParams, ModelInfo
from .errors import InvalidRequestError, UnsupportedLanguageError
from .glossary import Glossary, TermMatch
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
    # Glossary terms found in this segment whose rendering the translation lacks.
    glossary_missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class HtmlLayout:
    """Where each span of an HTML document's plan comes from: ("block", i, 0),
    ("attribute", j, 0) or ("phrase", i, pair): an inline element's own text,
    translated only to place its tags (see ``markup``), never a segment."""

    document: markup.HtmlDocument
    roles: list[tuple[str, int, int]]


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
    # Per span: the glossary terms injected into its model input (empty without a glossary).
    glossary_matches: list[list[TermMatch]] = field(default_factory=list)
    html: HtmlLayout | None = None

    def is_segment(self, index: int) -> bool:
        return self.html is None or self.html.roles[index][0] != "phrase"

    @property
    def segment_count(self) -> int:
        return sum(map(self.is_segment, range(len(self.spans))))


@dataclass(frozen=True)
class DocumentTranslation:
    text: str
    segments: list[TranslatedSegment]
    detected_language: str


@dataclass
class PreparedRequest:
    """Planned documents, their model inputs' token counts, and the request's place in line."""

    plans: list[DocumentPlan]
    input_tokens: list[list[int]]  # per plan, per model input (segments passed through have none)
    ticket: Ticket

    @property
    def segments(self) -> int:
        return sum(len(plan.spans) for plan in self.plans)


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

    def plan(
        self,
        texts: Sequence[str],
        source_language: str,
        target_language: str,
        *,
        html: bool = False,
        glossary: Glossary | None = None,
        cancelled: threading.Event | None = None,
    ) -> list[DocumentPlan]:
        """Check languages and segment every text. CPU work (tokenizer calls): run it off the loop.
        ``html``: the texts are HTML documents (see ``markup``). ``glossary``: its terms are
        put into the model inputs (see ``glossary``). Stops early, with what it has, once
        ``cancelled`` is set (the caller left).

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
        plan_one = self._plan_html if html else self._plan_text
        plans = []
        for index, text in enumerate(texts):
            if cancelled is not None and cancelled.is_set():
                break
            plans.append(plan_one(index, text, source_language, target, glossary))
        return plans

    def _count_model_tokens(self, text: str) -> int:
        return self.engine.count_tokens(normalize_for_model(text))

    def _plan_text(
        self, index: int, text: str, source_language: str, target: str, glossary: Glossary | None = None
    ) -> DocumentPlan:
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
        glossary_matches: list[list[TermMatch]] = []
        for span, translate in zip(spans, translated, strict=True):
            model_input = normalize_for_model(span.text).strip() if translate else ""
            matches: list[TermMatch] = []
            if model_input and glossary:
                injected, matches = glossary.inject(model_input)
                if not matches:
                    pass
                elif self.engine.count_tokens(injected) <= self.info.max_input_tokens:
                    model_input = injected
                else:  # renderings longer than the window allows: translate the span as written
                    matches = []
            model_inputs.append(model_input or None)  # nothing left for the model: pass through
            glossary_matches.append(matches)
        used = [language for language, text in zip(languages, model_inputs, strict=True) if text is not None]
        main_language = used[0] if used else max(size, key=lambda language: size[language])
        return DocumentPlan(
            text_index=index,
            source_language=main_language,
            spans=spans,
            languages=languages,
            model_inputs=model_inputs,
            trailing=trailing_whitespace(text, spans),
            glossary_matches=glossary_matches,
        )

    def _plan_html(
        self, index: int, text: str, source_language: str, target: str, glossary: Glossary | None = None
    ) -> DocumentPlan:
        """An HTML document as one plan: the spans of its blocks, translatable attributes and
        inline-element phrases, with offsets into the HTML source (see ``markup``)."""
        document = markup.parse(text)
        parts: list[tuple[tuple[str, int, int], str, Callable[[int, int], tuple[int, int]]]] = []
        for block_index, block in enumerate(document.blocks):
            parts.append((("block", block_index, 0), block.text, block.html_range))
            for pair, phrase in markup.phrase_texts(block).items():
                parts.append((("phrase", block_index, pair), phrase, block.html_range))
        for attribute_index, attribute in enumerate(document.attributes):
            parts.append((("attribute", attribute_index, 0), attribute.text, attribute.html_range))
        if not parts:
            raise InvalidRequestError(f"texts[{index}] (text/html) holds no text to translate, only markup")
        spans: list[Span] = []
        roles: list[tuple[str, int, int]] = []
        plans: list[DocumentPlan] = []
        for role, part, html_range in parts:
            part_plan = self._plan_text(index, part, source_language, target, glossary)
            plans.append(part_plan)
            for span in part_plan.spans:
                start, end = html_range(span.start, span.end)
                spans.append(dataclasses.replace(span, start=start, end=end, text=text[start:end]))
                roles.append(role)
        used = [plan.source_language for plan in plans if any(t is not None for t in plan.model_inputs)]
        return DocumentPlan(
            text_index=index,
            source_language=used[0] if used else plans[0].source_language,
            spans=spans,
            languages=[language for plan in plans for language in plan.languages],
            model_inputs=[model_input for plan in plans for model_input in plan.model_inputs],
            glossary_matches=[matches for plan in plans for matches in plan.glossary_matches],
            html=HtmlLayout(document, roles),
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

    def _count(self, plans: Sequence[DocumentPlan], cancelled: threading.Event) -> list[list[int]]:
        counts: list[list[int]] = []
        for plan in plans:
            if cancelled.is_set():
                break
            counts.append([self.engine.count_tokens(text) for text in plan.model_inputs if text is not None])
        return counts

    def _plan_and_count(
        self,
        texts: Sequence[str],
        source: str,
        target: str,
        html: bool,
        glossary: Glossary | None,
        cancelled: threading.Event,
    ) -> tuple[list[DocumentPlan], list[list[int]]]:
        plans = self.plan(texts, source, target, html=html, glossary=glossary, cancelled=cancelled)
        return plans, self._count(plans, cancelled)

    def _most_tokens(self, counts: list[list[int]], params: GenerationParams | None) -> float | None:
        """The most work the request can cost: every segment read and written to its
        output cap, twice where the repetition guard may retry it."""
        if params is None:
            return None
        attempts = 2 if self.defaults.repetition_guard else 1
        total = 0.0
        for tokens in (n for per_plan in counts for n in per_plan):
            cap = params.max_new_tokens or self.info.max_input_tokens
            if params.max_new_tokens_ratio:
                cap = min(cap, math.ceil(params.max_new_tokens_ratio * tokens) + 8)
            total += attempts * (tokens + cap)
        return total

    async def prepare(
        self,
        texts: Sequence[str],
        source_language: str,
        target_language: str,
        deadline: float | None = None,
        params: GenerationParams | None = None,
        *,
        html: bool = False,
        glossary: Glossary | None = None,
        early: int = 0,
        force: bool = False,
        stats: RequestStats | None = None,
    ) -> PreparedRequest:
        """Plan the texts off the event loop and take a place in line, or raise
        ``OverloadedError`` at once when the request could not finish by ``deadline``.
        ``early``: how many leading segments to schedule ahead of other requests'
        later ones (streaming). ``force``: admit without the check (accepted work)."""
        # Judged on the texts' length before any planning: under overload, refusals cost no tokenizing.
        ticket = self.scheduler.reserve(sum(map(len, texts)), deadline, early=early, force=force, stats=stats)
        cancelled = threading.Event()
        try:
            plans, counts = await asyncio.to_thread(
                self._plan_and_count, texts, source_language, target_language, html, glossary, cancelled
            )
            ticket.settle(sum(map(sum, counts)), self._most_tokens(counts, params), sum(map(len, counts)))
        except BaseException:
            cancelled.set()  # the caller left (or planning failed): stop segmenting at the next text
            ticket.close()
            raise
        prepared = PreparedRequest(plans, counts, ticket)
        ticket.stats.texts += len(plans)
        ticket.stats.segments += sum(plan.segment_count for plan in plans)
        return prepared

    async def _guarded(
        self, ticket: Ticket, order: int, source: str, generation: Generation, params: GenerationParams
    ) -> Generation:
        """Re-translate a looping output once with n-gram blocking and a repetition penalty.
        The retry keeps its request's place in line and its segment's order."""
        if not self.defaults.repetition_guard or not is_degenerate(generation.text):
            return generation
        guarded = dataclasses.replace(params, no_repeat_ngram_size=3, repetition_penalty=1.3)
        (future,) = ticket.submit([source], guarded, orders=[order], input_tokens=[generation.input_tokens])
        metrics.REPETITION_RETRIES.inc()
        retried = await future
        return Generation(
            text=retried.text,
            input_tokens=generation.input_tokens + retried.input_tokens,
            output_tokens=generation.output_tokens + retried.output_tokens,
        )

    async def _finish(
        self,
        ticket: Ticket,
        order: int,
        span: Span,
        model_input: str | None,
        future: asyncio.Future[Generation] | None,
        params: GenerationParams,
    ) -> Generation:
        if future is None or model_input is None:  # passed through unchanged
            return Generation(text=span.text, input_tokens=0, output_tokens=0)
        generation = await self._guarded(ticket, order, model_input, await future, params)
        return dataclasses.replace(generation, text=generation.text.translate(_NO_LINE_BREAKS).strip())

    async def stream(
        self, prepared: PreparedRequest, params: GenerationParams, *, with_phrases: bool = False
    ) -> AsyncGenerator[tuple[DocumentPlan, TranslatedSegment], None]:
        """Segments in document order, each as soon as it and those before it are done.
        ``index`` counts segments only; HTML phrases come too (index -1) when ``with_phrases``.
        Closes the request's ticket at the end, whatever the end."""
        ticket = prepared.ticket
        try:
            async with contextlib.aclosing(self._stream(prepared, params, with_phrases)) as items:
                async for item in items:
                    yield item
        except BaseException:
            ticket.close()
            raise
        ticket.close(completed=True)

    async def _stream(
        self, prepared: PreparedRequest, params: GenerationParams, with_phrases: bool
    ) -> AsyncGenerator[tuple[DocumentPlan, TranslatedSegment], None]:
        plans, ticket = prepared.plans, prepared.ticket
        # Every translated segment of every document at once, in document order, so they
        # share batches. Segments passed through need no model: they get ``None``.
        futures_in_order = iter(
            ticket.submit(
                [text for plan in plans for text in plan.model_inputs if text is not None],
                params,
                input_tokens=[n for counts in prepared.input_tokens for n in counts],
            )
        )
        grouped = [[None if text is None else next(futures_in_order) for text in plan.model_inputs] for plan in plans]
        orders = iter(range(prepared.segments))
        # One task per segment, started now, so repetition retries are queued as
        # soon as their first attempt finishes and share batches with each other.
        tasks = [
            [
                asyncio.ensure_future(self._finish(ticket, next(orders), span, model_input, future, params))
                for span, model_input, future in zip(plan.spans, plan.model_inputs, futures, strict=True)
            ]
            for plan, futures in zip(plans, grouped, strict=True)
        ]
        try:
            for plan, pending in zip(plans, tasks, strict=True):
                segment_index = 0
                last = max((i for i in range(len(plan.spans)) if plan.is_segment(i)), default=-1)
                for index, (span, task) in enumerate(zip(plan.spans, pending, strict=True)):
                    generation = await task
                    ticket.stats.input_tokens += generation.input_tokens
                    ticket.stats.output_tokens += generation.output_tokens
                    is_segment = plan.is_segment(index)
                    if not (is_segment or with_phrases):
                        continue
                    translated = plan.model_inputs[index] is not None
                    separator = span.separator
                    if translated and not separator and span.sentence_start and index:
                        separator = " "  # "جملة.جملة": translated sentences still need a space between them
                    matches = plan.glossary_matches[index] if plan.glossary_matches else []
                    yield (
                        plan,
                        TranslatedSegment(
                            index=segment_index if is_segment else -1,
                            source=span.text,
                            translation=generation.text,
                            start=span.start,
                            end=span.end,
                            separator=separator,
                            input_tokens=generation.input_tokens,
                            output_tokens=generation.output_tokens,
                            detected_language=plan.languages[index],
                            trailing=plan.trailing if index == last else "",
                            glossary_missing=tuple(Glossary.missing(generation.text, matches)),
                        ),
                    )
                    segment_index += is_segment
        finally:
            # The caller went away (deadline, cancel, error): withdraw what is still queued.
            # Queued futures are cancelled too: a task cancelled before it first runs never awaits its own.
            for futures, pending in zip(grouped, tasks, strict=True):
                for waiting in (*futures, *pending):
                    if waiting is not None:
                        waiting.cancel()

    async def translate(self, prepared: PreparedRequest, params: GenerationParams) -> TranslationResult:
        plans = prepared.plans
        pieces: dict[int, list[TranslatedSegment]] = {plan.text_index: [] for plan in plans}
        async for plan, piece in self.stream(prepared, params, with_phrases=True):
            pieces[plan.text_index].append(piece)
        documents = []
        for plan in plans:
            done = pieces[plan.text_index]
            if plan.html is not None:
                text = _rebuild_html(plan.html, done, plan.model_inputs)
            else:
                text = rebuild([s.separator for s in done], [s.translation for s in done], plan.trailing)
            segments = [s for s in done if s.index >= 0]
            documents.append(DocumentTranslation(text, segments, plan.source_language))
        every = [s for plan in plans for s in pieces[plan.text_index]]
        return TranslationResult(
            documents=documents,
            model=self.info.label,
            input_tokens=sum(s.input_tokens for s in every),
            output_tokens=sum(s.output_tokens for s in every),
        )

    async def translate_texts(
        self,
        texts: Sequence[str],
        source_language: str,
        target_language: str,
        params: GenerationParams,
        deadline: float | None = None,
        *,
        html: bool = False,
        glossary: Glossary | None = None,
        force: bool = False,
        stats: RequestStats | None = None,
    ) -> TranslationResult:
        prepared = await self.prepare(
            texts,
            source_language,
            target_language,
            deadline,
            params,
            html=html,
            glossary=glossary,
            force=force,
            stats=stats,
        )
        return await self.translate(prepared, params)


def _rebuild_html(layout: HtmlLayout, pieces: list[TranslatedSegment], model_inputs: list[str | None]) -> str:
    """The HTML document with its blocks and attributes translated; a block or attribute
    whose every span passed through (English, say) stays byte for byte as it was."""
    blocks = layout.document.blocks
    block_pieces: list[list[tuple[TranslatedSegment, bool]]] = [[] for _ in blocks]
    attribute_pieces: list[list[tuple[TranslatedSegment, bool]]] = [[] for _ in layout.document.attributes]
    phrases: list[dict[int, str]] = [{} for _ in blocks]
    for (kind, index, pair), piece, model_input in zip(layout.roles, pieces, model_inputs, strict=True):
        if kind == "phrase":
            phrases[index][pair] = piece.translation
        else:
            (block_pieces if kind == "block" else attribute_pieces)[index].append((piece, model_input is not None))

    def joined(group: list[tuple[TranslatedSegment, bool]]) -> str | None:
        if not any(translated for _, translated in group):
            return None
        return rebuild([piece.separator for piece, _ in group], [piece.translation for piece, _ in group]).strip()

    return markup.rebuild(
        layout.document,
        [joined(group) for group in block_pieces],
        [joined(group) for group in attribute_pieces],
        phrases,
    )
