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
import re
from dataclasses import dataclass

from ..engines.base import Generation, GenerationParams, ModelInfo
from ..errors import UnsupportedLanguageError
from ..text.languages import UNDETERMINED, detect_document_language
from ..text.normalization import normalize_for_model
from ..text.segmentation import pack, segment, split_sentences
from .context import Report, RequestContext, Timings, Usage
from .recipes import CARD_STYLE, SummarizationDefaults
from .requests import CheckedSummarization, RequestLimits, SummarizationRequest, check_summarization
from .scheduler import Scheduler
from .tickets import Ticket
from .translation import Translator


@dataclass(frozen=True, kw_only=True)
class SummaryResult:
    summary: str
    summary_language: str
    detected_language: str
    model: str
    method: str
    style: str
    report: Report


def first_sentence(text: str) -> str:
    """A headline is one sentence: the first the summarizer wrote."""
    sentences = split_sentences(text)
    return sentences[0].text if sentences else text


def normalize_whitespace(text: str) -> str:
    """The card's recipe: newlines and runs of spaces become single spaces."""
    return re.sub(r"\s+", " ", text).strip()


class Summarizer:
    def __init__(
        self,
        scheduler: Scheduler,
        defaults: SummarizationDefaults,
        limits: RequestLimits,
        translator: Translator | None,
    ) -> None:
        self.scheduler = scheduler
        self.engine = scheduler.engine
        self.defaults = defaults
        self.limits = limits
        self.translator = translator

    @property
    def info(self) -> ModelInfo:
        return self.engine.info

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
        target = summary_language or "en"
        if target != source and not (self.translator and self.translator.supports(source, target)):
            possible = sorted(
                {source} | ({"en"} if self.translator and self.translator.supports(source, "en") else set())
            )
            raise UnsupportedLanguageError(
                f"summary_language {target!r} is not available for {source!r} text: choose one of {', '.join(possible)}"
            )
        return source, target

    async def _generate_all(self, ticket: Ticket, texts: list[str], params: GenerationParams) -> list[Generation]:
        futures = self.scheduler.submit(ticket, texts, params)
        try:
            return list(await asyncio.gather(*futures))
        finally:
            for future in futures:
                future.cancel()

    async def summarize(self, request: SummarizationRequest, *, context: RequestContext) -> SummaryResult:
        checked = check_summarization(request, self.limits, max_summary_tokens=self.info.max_output_tokens)
        scheduler = self.scheduler
        # Judged on the text's length before any CPU work: under overload, refusals cost nothing.
        ticket = scheduler.reserve(chars=len(checked.text), deadline=context.deadline)
        completed = False
        try:
            # Identification reads every paragraph: CPU work, off the event loop.
            source, target = await asyncio.to_thread(
                self.check_languages, checked.text, checked.source_language, checked.summary_language
            )
            clean = normalize_whitespace(normalize_for_model(checked.text))
            scheduler.settle(ticket, input_tokens=await asyncio.to_thread(self.engine.count_tokens, clean))
            result = await self._summarize(ticket, clean, source, target, checked, context)
            completed = True
            return result
        finally:
            scheduler.close(ticket, completed=completed)

    async def _summarize(
        self,
        ticket: Ticket,
        clean: str,
        source: str,
        target: str,
        checked: CheckedSummarization,
        context: RequestContext,
    ) -> SummaryResult:
        window = self.info.max_input_tokens
        count = self.engine.count_tokens
        map_params = self.defaults.params(CARD_STYLE, num_beams=checked.num_beams)
        usage = Usage()
        rounds = 0
        jobs = 0
        chunk_counts: list[int] = []
        while True:
            spans = await asyncio.to_thread(segment, clean, count, window)
            chunks = await asyncio.to_thread(pack, clean, spans, count, window)
            if len(chunks) <= 1:  # none: every partial summary came back empty
                break
            rounds += 1
            if rounds > self.defaults.max_reduce_rounds:
                raise RuntimeError(f"summaries did not converge after {rounds - 1} reduce rounds")
            chunk_counts.append(len(chunks))
            jobs += len(chunks)
            partial = await self._generate_all(ticket, chunks, map_params)
            usage += _usage(partial)
            clean = normalize_whitespace(" ".join(g.text for g in partial))
        summary, models = "", [self.info.label]
        if chunks:
            jobs += 1
            style = checked.style
            params = self.defaults.params(style, checked.max_summary_tokens, checked.num_beams)
            (final,) = await self._generate_all(ticket, chunks, params)
            usage += _usage([final])
            summary = first_sentence(final.text) if style.one_sentence else final.text
        method = f"summarize-{source}"
        if chunk_counts:
            method += f"+map-reduce({'/'.join(map(str, chunk_counts))} chunks)"
        if target != source:
            assert self.translator is not None  # check_languages made sure
            if summary:
                # Part of a request already accepted: admitted without the capacity check.
                translated = await self.translator.translate_texts(
                    [summary], source_language=source, target_language=target, context=context, force=True
                )
                summary = translated.documents[0].text
                usage += translated.report.usage
            models.append(self.translator.info.label)
            method += f"+translate-{source}-{target}"
        return SummaryResult(
            summary=summary,
            summary_language=target,
            detected_language=source,
            model=" + ".join(models),
            method=method,
            style=checked.style.name,
            report=Report(
                texts=1,
                segments=jobs,
                usage=usage,
                timings=Timings(queue_seconds=ticket.queue_seconds, estimated_seconds=ticket.estimated_seconds),
            ),
        )


def _usage(generations: list[Generation]) -> Usage:
    return Usage(
        input_tokens=sum(g.input_tokens for g in generations), output_tokens=sum(g.output_tokens for g in generations)
    )
