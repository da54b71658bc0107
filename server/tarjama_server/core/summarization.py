"""Article summarization with an mT5 summarizer (XL-Sum by default).

The summarizer writes in the article's language. Articles longer than its
512-token window are summarized whole by map-reduce: cut at sentence
boundaries into window-sized chunks, summarize each, then summarize the joined
summaries (again, if they still do not fit). Nothing is cut off.

An English summary of an Arabic article is made by summarizing in Arabic and
translating the summary: translating ~80 tokens is far cheaper than translating
the whole article first (on 2 CPU cores, seconds instead of a minute), and the
summarizer reads the original wording rather than a machine translation.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from dataclasses import dataclass, field

from ..engines.base import Generation, GenerationParams, ModelInfo
from ..errors import InvalidRequestError, UnsupportedLanguageError
from ..text.languages import UNDETERMINED, detect_document_language
from ..text.markup import document_text
from ..text.normalization import normalize_for_model
from ..text.segmentation import pack, segment, split_sentences
from .cache import ResultCache, text_bytes
from .context import Report, ReportSink, RequestContext, Usage
from .limits import RequestLimits
from .recipes import CARD_STYLE, SummarizationDefaults
from .requests import CheckedSummarization, SummarizationRequest, check_summarization
from .scheduler import Scheduler
from .tickets import Ticket
from .translation import Translator
from .trust import confidence


@dataclass(frozen=True, kw_only=True)
class SummaryResult:
    summary: str
    summary_language: str
    detected_language: str
    model: str
    method: str
    style: str
    report: Report
    # The summarizer's mean log-probability per token for what it wrote (None: no summary).
    log_probability: float | None = None
    cached: bool = False

    @property
    def confidence(self) -> float | None:
        return None if self.log_probability is None else confidence(self.log_probability)


def first_sentence(text: str) -> str:
    """A headline is one sentence: the first the summarizer wrote."""
    sentences = split_sentences(text)
    return sentences[0].text if sentences else text


def normalize_whitespace(text: str) -> str:
    """The card's recipe: newlines and runs of spaces become single spaces."""
    return re.sub(r"\s+", " ", text).strip()


@dataclass(kw_only=True)
class AdmittedSummary:
    """A request checked and given its place in line; run it with ``Summarizer.summarize``."""

    checked: CheckedSummarization
    context: RequestContext
    ticket: Ticket
    jobs: int = 0  # chunks and the final summary, so far
    usage: Usage = field(default_factory=Usage)  # once done
    # Told the call's report once the run ends (the transport's access log).
    on_report: ReportSink | None = None
    # Characters of the article the model read, and of its summary when translated (not on a cache hit).
    model_characters: int = 0

    def report_so_far(self) -> Report:
        return Report(
            texts=1,
            segments=self.jobs,
            usage=self.usage,
            timings=self.ticket.timings(),
            model_characters=self.model_characters,
        )


class Summarizer:
    def __init__(
        self,
        scheduler: Scheduler,
        *,
        defaults: SummarizationDefaults,
        limits: RequestLimits,
        translator: Translator | None,
        cache: ResultCache[object] | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.engine = scheduler.engine
        self.defaults = defaults
        self.limits = limits
        self.translator = translator
        self.cache = cache if cache is not None else ResultCache[object](0)

    @property
    def info(self) -> ModelInfo:
        return self.engine.info

    def admit(
        self, request: SummarizationRequest, *, context: RequestContext, on_report: ReportSink | None = None
    ) -> AdmittedSummary:
        """Check the request and take its place in line, or raise at once: InvalidRequestError,
        or OverloadedError when it could not finish by its deadline. Run it with ``summarize``;
        ``on_report`` is told the call's report once that ends, however it ends."""
        checked = check_summarization(request, self.limits, max_summary_tokens=self.info.max_output_tokens)
        # Judged on the text's length before any CPU work: under overload, refusals cost nothing.
        ticket = self.scheduler.reserve(chars=len(checked.text), deadline=context.deadline)
        return AdmittedSummary(checked=checked, context=context, ticket=ticket, on_report=on_report)

    async def summarize(self, admitted: AdmittedSummary) -> SummaryResult:
        """The summary; closes the request's ticket and sends its report, whatever the end."""
        checked, scheduler = admitted.checked, self.scheduler
        completed = False
        try:
            # An HTML document is summarized from the text its reader sees (parsing is CPU work).
            text = await asyncio.to_thread(document_text, checked.text) if checked.html else checked.text
            if not text.strip():
                raise InvalidRequestError("text holds no text outside its HTML markup: there is nothing to summarize")
            # Identification reads every paragraph: CPU work, off the event loop.
            source, target = await asyncio.to_thread(
                self.check_languages, text, checked.source_language, checked.summary_language
            )
            clean = normalize_whitespace(normalize_for_model(text))
            key = self._cache_key(checked, clean, source, target)
            stored = self.cache.peek(key)
            if isinstance(stored, SummaryResult):  # a stored summary costs no admission
                scheduler.settle(admitted.ticket, input_tokens=0)
                result = dataclasses.replace(stored, cached=True)
                self.cache.count_hit("summary")
            else:
                chunks = await asyncio.to_thread(self._chunks, clean)
                input_tokens = await asyncio.to_thread(self.engine.count_tokens, clean)
                # Judged on all it can cost, and on its chunks, before the model reads any of it: an article
                # too large to summarize gets INVALID_ARGUMENT now, not a refusal halfway through its map-reduce.
                scheduler.settle(
                    admitted.ticket,
                    input_tokens=input_tokens,
                    most_tokens=self._most_tokens(input_tokens, len(chunks), checked),
                    jobs=len(chunks),
                )

                async def compute() -> object:
                    return await self._summarize(admitted, chunks, source, target, article=clean)

                value, shared = await self.cache.run(
                    key,
                    compute,
                    lambda value: text_bytes(clean, value.summary if isinstance(value, SummaryResult) else ""),
                    kind="summary",
                )
                assert isinstance(value, SummaryResult)
                result = value if not shared else dataclasses.replace(value, cached=True)
            completed = True
            if result.cached:  # the work was done for another call: this one cost nothing
                admitted.usage = Usage()
                return dataclasses.replace(result, report=admitted.report_so_far())
            return result
        finally:
            scheduler.close(admitted.ticket, completed=completed)
            if admitted.on_report is not None:
                admitted.on_report(admitted.report_so_far())

    def _cache_key(self, checked: CheckedSummarization, clean: str, source: str, target: str) -> tuple[object, ...]:
        """Everything that decides the summary: models and engines, the decoding, the text read."""
        info = self.info
        translator = self.translator.info if self.translator and target != source else None
        translation = (translator.label, translator.engine) if translator else ()
        decoding = (checked.style.name, checked.max_summary_tokens, checked.num_beams, self.defaults)
        return ("summary", info.label, info.engine, info.device, translation, source, target, decoding, clean)

    def check_languages(self, text: str, source_language: str, summary_language: str) -> tuple[str, str]:
        """(source, summary) languages, or UnsupportedLanguageError saying what is possible."""
        languages = self.info.source_languages
        source = source_language or detect_document_language(text)
        if source == UNDETERMINED:
            source = languages[0]
        if source not in languages:
            raise UnsupportedLanguageError(
                f"cannot summarize {source!r} text: the summarizer reads {', '.join(languages)}"
                + ("" if source_language else "; set source_language if the detection is wrong")
            )
        # By default, the translator's default target (the summary is translated into it).
        default = self.translator.default_target_language if self.translator else source
        target = summary_language or default
        if target != source and not (self.translator and self.translator.supports(source, target)):
            possible = sorted(
                {source} | ({default} if self.translator and self.translator.supports(source, default) else set())
            )
            raise UnsupportedLanguageError(
                f"summary_language {target!r} is not available for {source!r} text: choose one of {', '.join(possible)}"
            )
        return source, target

    def _chunks(self, text: str) -> list[str]:
        """``text`` cut at sentence boundaries into chunks that fit the model's window (CPU work)."""
        count, window = self.engine.count_tokens, self.info.max_input_tokens
        return pack(text, segment(text, count, window), count, window)

    def _most_tokens(self, input_tokens: int, chunks: int, checked: CheckedSummarization) -> float:
        """The most work the map-reduce can cost: every chunk read, every summary written to its
        length (a model that never stops early does), every reduce round, and the final summary."""
        window, written = self.info.max_input_tokens, CARD_STYLE.max_tokens
        work, reading = 0, input_tokens
        for _ in range(self.defaults.max_reduce_rounds + 1):  # the map round and the reduce rounds
            if chunks <= 1:
                break
            work += reading + chunks * written
            reading = chunks * written
            chunks = -(-reading // window)
        final = checked.max_summary_tokens or checked.style.max_tokens
        return float(work + min(reading, window) + final)

    async def _generate_all(self, ticket: Ticket, texts: list[str], params: GenerationParams) -> list[Generation]:
        futures = self.scheduler.submit(ticket, texts, params)
        try:
            return list(await asyncio.gather(*futures))
        finally:
            for future in futures:
                future.cancel()

    async def _summarize(
        self, admitted: AdmittedSummary, chunks: list[str], source: str, target: str, *, article: str
    ) -> SummaryResult:
        checked, ticket = admitted.checked, admitted.ticket
        map_params = self.defaults.params(CARD_STYLE, num_beams=checked.num_beams)
        usage = Usage()
        admitted.model_characters = sum(len(chunk) for chunk in chunks)
        chunk_counts: list[int] = []
        lead = False
        while len(chunks) > 1:  # none: every partial summary came back empty
            shrinking = not chunk_counts or len(chunks) < chunk_counts[-1]
            if len(chunk_counts) > self.defaults.max_reduce_rounds or not shrinking:
                # The partial summaries no longer shrink (a model that repeats its input): the final
                # summary reads what fits the window, the lead of what is left, rather than loop.
                chunks, lead = chunks[:1], True
                break
            chunk_counts.append(len(chunks))
            admitted.jobs += len(chunks)
            partial = await self._generate_all(ticket, chunks, map_params)
            usage += Usage.of(partial)
            chunks = await asyncio.to_thread(self._chunks, normalize_whitespace(" ".join(g.text for g in partial)))
        summary, models = "", [self.info.label]
        log_probability: float | None = None
        if chunks:
            admitted.jobs += 1
            style = checked.style
            params = self.defaults.params(
                style, max_summary_tokens=checked.max_summary_tokens, num_beams=checked.num_beams
            )
            (final,) = await self._generate_all(ticket, chunks, params)
            usage += Usage.of([final])
            log_probability = final.log_probability
            summary = first_sentence(final.text) if style.one_sentence else final.text
        method = f"summarize-{source}"
        if chunk_counts:
            method += f"+map-reduce({'/'.join(map(str, chunk_counts))} chunks)"
        if lead:
            method += "+lead"
        if not summary.strip():
            # The model wrote nothing (it stopped at once, or wrote only pieces that decode to
            # nothing): an editor never gets an empty summary silently. The article's first
            # sentence stands in, with no model score, and the method says so.
            summary, log_probability = first_sentence(article), None
            method += "+first-sentence"
        if target != source:
            assert self.translator is not None  # check_languages made sure
            if summary:
                translated = await self.translator.translate_produced(
                    [summary], source_language=source, target_language=target, context=admitted.context
                )
                summary = translated.documents[0].text
                if checked.style.one_sentence:  # one sentence can translate into several: a headline is one
                    summary = first_sentence(summary)
                usage += translated.report.usage
                admitted.model_characters += translated.report.model_characters
            models.append(self.translator.info.label)
            method += f"+translate-{source}-{target}"
        admitted.usage = usage
        return SummaryResult(
            summary=summary,
            summary_language=target,
            detected_language=source,
            model=" + ".join(models),
            method=method,
            style=checked.style.name,
            report=admitted.report_so_far(),
            log_probability=log_probability,
        )
