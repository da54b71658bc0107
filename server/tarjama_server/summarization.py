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

from .batching import BatchScheduler, RequestStats, Ticket
from .engines.base import Generation, GenerationParams, ModelInfo
from .errors import InvalidRequestError, UnsupportedLanguageError
from .languages import UNDETERMINED, detect_document_language
from .normalization import normalize_for_model
from .segmentation import pack, segment, split_sentences
from .translation import Translator


@dataclass(frozen=True)
class SummaryStyle:
    """How the final summary is decoded (map steps of a long article always use the card's recipe)."""

    name: str
    max_tokens: int
    # Beam scores are divided by length ** length_penalty: above 1 favours longer output.
    length_penalty: float
    # Keep the first sentence only.
    one_sentence: bool = False


STYLES = {
    style.name: style
    for style in (
        SummaryStyle("headline", max_tokens=32, length_penalty=0.6, one_sentence=True),
        SummaryStyle("short", max_tokens=84, length_penalty=0.6),  # the XLSum card's recipe
        SummaryStyle("long", max_tokens=200, length_penalty=1.5),
    )
}
DEFAULT_STYLE = "short"


@dataclass(frozen=True)
class SummarizationDefaults:
    # The model card's recipe for csebuetnlp/mT5_multilingual_XLSum.
    num_beams: int = 4
    max_summary_tokens: int = 84
    no_repeat_ngram_size: int = 2
    length_penalty: float = 0.6
    max_reduce_rounds: int = 6


@dataclass(frozen=True)
class SummaryResult:
    summary: str
    summary_language: str
    detected_language: str
    model: str
    method: str
    input_tokens: int
    output_tokens: int
    style: str = DEFAULT_STYLE


def first_sentence(text: str) -> str:
    """A headline is one sentence: the first the summarizer wrote."""
    sentences = split_sentences(text)
    return sentences[0].text if sentences else text


def normalize_whitespace(text: str) -> str:
    """The card's recipe: newlines and runs of spaces become single spaces."""
    return re.sub(r"\s+", " ", text).strip()


class Summarizer:
    def __init__(
        self, scheduler: BatchScheduler, defaults: SummarizationDefaults, translator: Translator | None
    ) -> None:
        self.scheduler = scheduler
        self.engine = scheduler.engine
        self.defaults = defaults
        self.translator = translator

    @property
    def info(self) -> ModelInfo:
        return self.engine.info

    def params(self, max_summary_tokens: int, num_beams: int, style: SummaryStyle | None = None) -> GenerationParams:
        """The card's recipe, or ``style``'s length and length penalty for the final summary."""
        return GenerationParams(
            num_beams=num_beams or self.defaults.num_beams,
            max_new_tokens=max_summary_tokens or (style.max_tokens if style else self.defaults.max_summary_tokens),
            no_repeat_ngram_size=self.defaults.no_repeat_ngram_size,
            length_penalty=style.length_penalty if style else self.defaults.length_penalty,
        )

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

    @staticmethod
    async def _generate_all(ticket: Ticket, texts: list[str], params: GenerationParams) -> list[Generation]:
        futures = ticket.submit(texts, params)
        try:
            return list(await asyncio.gather(*futures))
        finally:
            for future in futures:
                future.cancel()

    async def summarize(
        self,
        text: str,
        source_language: str,
        summary_language: str,
        max_summary_tokens: int = 0,
        num_beams: int = 0,
        style: str = "",
        deadline: float | None = None,
        stats: RequestStats | None = None,
    ) -> SummaryResult:
        recipe = STYLES.get(style or DEFAULT_STYLE)
        if recipe is None:
            raise InvalidRequestError(f"style {style!r} is not one of {', '.join(STYLES)}")
        # Judged on the text's length before any CPU work: under overload, refusals cost nothing.
        ticket = self.scheduler.reserve(len(text), deadline, stats=stats)
        ticket.stats.texts += 1
        completed = False
        try:
            # Identification reads every paragraph: CPU work, off the event loop.
            source, target = await asyncio.to_thread(self.check_languages, text, source_language, summary_language)
            clean = normalize_whitespace(normalize_for_model(text))
            ticket.settle(await asyncio.to_thread(self.engine.count_tokens, clean))
            result = await self._summarize(
                ticket, clean, source, target, max_summary_tokens, num_beams, recipe, deadline
            )
            completed = True
            ticket.stats.input_tokens = result.input_tokens
            ticket.stats.output_tokens = result.output_tokens
            return result
        finally:
            ticket.close(completed)

    async def _summarize(
        self,
        ticket: Ticket,
        clean: str,
        source: str,
        target: str,
        max_summary_tokens: int,
        num_beams: int,
        recipe: SummaryStyle,
        deadline: float | None,
    ) -> SummaryResult:
        window = self.info.max_input_tokens
        count = self.engine.count_tokens
        map_params = self.params(0, num_beams)
        usage_in = usage_out = 0
        rounds = 0
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
            ticket.stats.segments += len(chunks)
            partial = await self._generate_all(ticket, chunks, map_params)
            usage_in += sum(g.input_tokens for g in partial)
            usage_out += sum(g.output_tokens for g in partial)
            clean = normalize_whitespace(" ".join(g.text for g in partial))
        summary, models = "", [self.info.label]
        if chunks:
            ticket.stats.segments += 1
            (final,) = await self._generate_all(ticket, chunks, self.params(max_summary_tokens, num_beams, recipe))
            usage_in += final.input_tokens
            usage_out += final.output_tokens
            summary = first_sentence(final.text) if recipe.one_sentence else final.text
        method = f"summarize-{source}"
        if chunk_counts:
            method += f"+map-reduce({'/'.join(map(str, chunk_counts))} chunks)"
        if target != source:
            assert self.translator is not None  # check_languages made sure
            translated = (
                # Part of a request already accepted: admitted without the capacity check.
                await self.translator.translate_texts(
                    [summary], source, target, self.translator.params(), deadline, force=True, stats=RequestStats()
                )
                if summary
                else None
            )
            if translated:
                summary = translated.documents[0].text
                usage_in += translated.input_tokens
                usage_out += translated.output_tokens
            models.append(self.translator.info.label)
            method += f"+translate-{source}-{target}"
        return SummaryResult(
            summary=summary,
            summary_language=target,
            detected_language=source,
            model=" + ".join(models),
            method=method,
            input_tokens=usage_in,
            output_tokens=usage_out,
            style=recipe.name,
        )
