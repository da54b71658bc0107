"""Planning a translation: each text cut into spans, one record per span saying what it is
(its language, what the model reads of it or that it passes through, its tokens, the
glossary terms put into it, and its role in an HTML document), and the rebuild of a
document from the translated spans.

With ``source_language`` set, every span is read as that language (the same as the
target: passed through). Without, each paragraph (line) is identified on its own: the
target language and text without letters pass through unchanged, the model's source
languages are translated, and other languages pass through flagged when the
translatable paragraphs outweigh them, else the request is refused.

An HTML document (see ``text.markup``) is planned as its blocks, its translatable
attributes and the phrases of its inline elements (translated only to place their tags,
never segments of their own), with offsets into the HTML source.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from ..engines.base import ModelInfo
from ..errors import DeadlineExpiredError, InvalidRequestError, UnsupportedLanguageError
from ..text import markup
from ..text.glossary import Glossary, TermMatch
from ..text.languages import UNDETERMINED, detect_language, language_name
from ..text.normalization import normalize_for_model
from ..text.segmentation import Span, lines, rebuild, segment, trailing_whitespace
from .context import CLOCK, Clock, Usage
from .desk import MemoryMatch
from .trust import ModelOutput


class RoleKind(Enum):
    TEXT = "text"  # a span of a plain-text document
    BLOCK = "block"  # a span of an HTML block's text
    ATTRIBUTE = "attribute"  # a span of a translatable HTML attribute
    PHRASE = "phrase"  # an inline element's own text: translated to place its tags, never a segment


@dataclass(frozen=True)
class Role:
    """Where a span comes from: ``index`` is its block or attribute, ``pair`` its inline element."""

    kind: RoleKind
    index: int = 0
    pair: int = 0


TEXT = Role(RoleKind.TEXT)


class PlanningCancelled(Exception):
    """Planning stopped because its caller left: nobody waits for its result."""


@dataclass(frozen=True)
class Stop:
    """When planning stops: its caller left (``cancelled`` set) or its ``deadline`` (on ``clock``)
    passed. ``check`` is called inside the planning loops (per text, block, span, and every few
    hundred HTML tokens), so planning stops within moments whatever the text."""

    cancelled: threading.Event | None = None
    deadline: float | None = None
    clock: Clock = CLOCK

    def check(self) -> None:
        if self.cancelled is not None and self.cancelled.is_set():
            raise PlanningCancelled("the caller left while its texts were planned")
        if self.deadline is not None and self.clock() >= self.deadline:
            raise DeadlineExpiredError("the call's deadline passed while its texts were planned")


NEVER = Stop()


@dataclass(frozen=True, kw_only=True)
class PlannedSpan:
    span: Span
    # Its paragraph's language (or the request's source_language).
    language: str
    # What the model reads, or None: passed through unchanged (in the target language, in no
    # language, or in an untranslatable language inside a mostly translatable document).
    model_input: str | None
    tokens: int = 0  # of model_input, as the model counts them
    glossary_matches: tuple[TermMatch, ...] = ()  # terms injected into model_input
    role: Role = TEXT
    # What a translation memory finds it by (core.desk.memory_key of its text), before any glossary term.
    memory_key: str = ""

    @property
    def is_segment(self) -> bool:
        return self.role.kind is not RoleKind.PHRASE


@dataclass(frozen=True, kw_only=True)
class DocumentPlan:
    """A document cut into spans, ready to translate."""

    text_index: int
    # The language that was translated, or the main language of a text passed through.
    source_language: str
    spans: tuple[PlannedSpan, ...]
    trailing: str = ""  # the text's trailing whitespace (plain text)
    html: markup.HtmlDocument | None = None

    @functools.cached_property
    def segment_count(self) -> int:
        return sum(planned.is_segment for planned in self.spans)

    @functools.cached_property
    def last_segment(self) -> int:
        """The position of its last segment among its spans (-1: none)."""
        return max((i for i, planned in enumerate(self.spans) if planned.is_segment), default=-1)

    @property
    def model_spans(self) -> list[PlannedSpan]:
        """The spans the model reads."""
        return [planned for planned in self.spans if planned.model_input is not None]


@dataclass(frozen=True)
class SpanTranslation:
    """A planned span and what became of it (the span itself, when it passed through)."""

    planned: PlannedSpan
    translation: str
    # The source's whitespace before it (a space between translated sentences the source wrote together).
    separator: str
    usage: Usage = field(default_factory=Usage)  # what the model read and wrote for it, retries included
    # What the model made of it (its score, flags' sources); None when it passed through.
    output: ModelOutput | None = None
    # The translation memory's entry for it (similarity 1: its translation is this one) or its near match.
    memory: MemoryMatch | None = None


class Planner:
    """Plans texts for one translation model: ``count_tokens`` is how it counts, ``info`` what it reads."""

    def __init__(self, info: ModelInfo, count_tokens: Callable[[str], int], max_segment_tokens: int) -> None:
        self.info = info
        self._count = count_tokens
        self.max_segment_tokens = min(max_segment_tokens, info.max_input_tokens)

    def supports(self, source_language: str, target_language: str) -> bool:
        return source_language in self.info.source_languages and target_language in self.info.target_languages

    @property
    def default_target_language(self) -> str:
        """The language translated into when a request names none: the model's first target
        language (``--translation-target-languages``). The one place this default is decided."""
        return self.info.target_languages[0]

    def pair_text(self) -> str:
        return f"{'/'.join(self.info.source_languages)} → {'/'.join(self.info.target_languages)}"

    def check_languages(self, source_language: str, target_language: str) -> str:
        """The target language (the default when empty), or UnsupportedLanguageError saying what the model does."""
        target = target_language or self.default_target_language
        if target not in self.info.target_languages:
            raise UnsupportedLanguageError(
                f"target_language {target!r} is not supported: the loaded model translates {self.pair_text()}"
            )
        if source_language and source_language != target and not self.supports(source_language, target):
            raise UnsupportedLanguageError(
                f"language pair {source_language} → {target} is not supported: "
                f"the loaded model translates {self.pair_text()}"
            )
        return target

    def plan(
        self,
        texts: Sequence[str],
        *,
        source_language: str,
        target_language: str,
        html: bool = False,
        glossary: Glossary | None = None,
        cancelled: threading.Event | None = None,
        deadline: float | None = None,
    ) -> list[DocumentPlan]:
        """Check languages and plan every text. CPU work (tokenizer calls): run it off the event
        loop. Raises ``PlanningCancelled`` once ``cancelled`` is set (the caller left), and
        ``DeadlineExpiredError`` once ``deadline`` (on ``CLOCK``) passes, checked inside every
        loop, so however large a text, planning stops within moments."""
        stop = Stop(cancelled, deadline)
        target = self.check_languages(source_language, target_language)
        plans = []
        for index, text in enumerate(texts):
            stop.check()
            if html:
                plans.append(self._plan_html(index, text, source_language, target, glossary, stop))
            else:
                plans.append(self._plan_text(index, text, source_language, target, glossary, stop=stop))
        return plans

    def _count_model_tokens(self, text: str) -> int:
        return self._count(normalize_for_model(text))

    def _plan_text(
        self,
        index: int,
        text: str,
        source_language: str,
        target: str,
        glossary: Glossary | None,
        role: Role = TEXT,
        stop: Stop = NEVER,
        identified: dict[str, str] | None = None,
    ) -> DocumentPlan:
        """``identified``: lines already identified (by text), shared by the parts of one document."""

        def count(piece: str) -> int:
            stop.check()  # the segmenter counts tokens as it cuts: a cancellation point inside it
            return self._count_model_tokens(piece)

        spans = segment(text, count, self.max_segment_tokens)
        if not spans:
            raise InvalidRequestError(f"texts[{index}] is empty: send text with at least one non-space character")
        languages = (
            [source_language] * len(spans) if source_language else self._span_languages(text, spans, stop, identified)
        )
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
                f"{self.pair_text()}; set source_language if the detection is wrong"
            )
        planned = []
        for span, language in zip(spans, languages, strict=True):
            stop.check()
            translate = language != target and self.supports(language, target)
            model_input = normalize_for_model(span.text).strip() if translate else ""
            planned.append(self._plan_span(span, language, model_input, glossary, role))
        used = [p.language for p in planned if p.model_input is not None]
        return DocumentPlan(
            text_index=index,
            source_language=used[0] if used else max(size, key=lambda language: size[language]),
            spans=tuple(planned),
            trailing=trailing_whitespace(text, spans),
        )

    def _plan_span(
        self, span: Span, language: str, model_input: str, glossary: Glossary | None, role: Role
    ) -> PlannedSpan:
        if not model_input:  # nothing left for the model: passed through
            return PlannedSpan(span=span, language=language, model_input=None, role=role)
        key = " ".join(model_input.split())  # = desk.memory_key(span.text): model_input is normalized
        if glossary:
            injected, matches = glossary.inject(model_input)
            if matches:
                tokens = self._count(injected)
                if tokens <= self.info.max_input_tokens:
                    return PlannedSpan(
                        span=span,
                        language=language,
                        model_input=injected,
                        tokens=tokens,
                        glossary_matches=tuple(matches),
                        role=role,
                        memory_key=key,
                    )
                # Renderings longer than the window allows: the span is translated as written.
        return PlannedSpan(
            span=span,
            language=language,
            model_input=model_input,
            tokens=self._count(model_input),
            role=role,
            memory_key=key,
        )

    def _plan_html(
        self, index: int, text: str, source_language: str, target: str, glossary: Glossary | None, stop: Stop = NEVER
    ) -> DocumentPlan:
        """An HTML document as one plan: the spans of its blocks, translatable attributes and
        inline-element phrases, with offsets into the HTML source (see ``markup``). A block
        whose every span passes through keeps its markup as it is: its phrases are not planned.
        Linear in the document: each span's offsets are found by bisection, and a phrase's span
        keeps its own text (it is never a segment) rather than a slice of the source."""
        document = markup.parse(text, stop.check)
        planned: list[PlannedSpan] = []
        part_plans: list[DocumentPlan] = []
        identified: dict[str, str] = {}  # a phrase or attribute repeated (or a line) is identified once

        def add(role: Role, part: str, html_range: Callable[[int, int], tuple[int, int]], offset: int = 0) -> bool:
            part_plan = self._plan_text(index, part, source_language, target, glossary, role, stop, identified)
            part_plans.append(part_plan)
            for span_plan in part_plan.spans:
                span = span_plan.span
                start, end = html_range(offset + span.start, offset + span.end)
                source = span.text if role.kind is RoleKind.PHRASE else text[start:end]
                moved = dataclasses.replace(span, start=start, end=end, text=source)
                planned.append(dataclasses.replace(span_plan, span=moved))
            return bool(part_plan.model_spans)

        for block_index, block in enumerate(document.blocks):
            if add(Role(RoleKind.BLOCK, block_index), block.text, block.html_range):
                for phrase in markup.phrases(block):
                    add(Role(RoleKind.PHRASE, block_index, phrase.pair), phrase.text, block.html_range, phrase.plain)
        for attribute_index, attribute in enumerate(document.attributes):
            add(Role(RoleKind.ATTRIBUTE, attribute_index), attribute.text, attribute.html_range)
        if not part_plans:
            if document.untranslated_text:  # text the server does not translate (SVG, code): passed through
                return DocumentPlan(text_index=index, source_language=UNDETERMINED, spans=(), html=document)
            raise InvalidRequestError(f"texts[{index}] (text/html) holds no text to translate, only markup")
        used = [plan.source_language for plan in part_plans if plan.model_spans]
        return DocumentPlan(
            text_index=index,
            source_language=used[0] if used else part_plans[0].source_language,
            spans=tuple(planned),
            html=document,
        )

    @staticmethod
    def _span_languages(
        text: str, spans: list[Span], stop: Stop = NEVER, identified: dict[str, str] | None = None
    ) -> list[str]:
        """The language of each span's line (a span never crosses a line break)."""
        by_text: dict[str, str] = {} if identified is None else identified  # a repeated line is identified once
        languages: list[str] = []
        line_iter = lines(text)
        line_end = -1
        language = UNDETERMINED
        for span in spans:
            if span.start >= line_end:  # the first span of a new line: identify the line once
                stop.check()
                line_start, line_end = next(line_iter)
                while span.start >= line_end:
                    line_start, line_end = next(line_iter)
                line = text[line_start:line_end]
                language = by_text.get(line) or by_text.setdefault(line, detect_language(line))
            languages.append(language)
        return languages


def rebuild_document(plan: DocumentPlan, translated: Sequence[SpanTranslation]) -> str:
    """The translated document: plain text joined with the source's own whitespace; HTML with
    each block and attribute replaced (its inline tags placed by its phrases), a block or
    attribute whose every span passed through kept byte for byte."""
    if plan.html is None:
        return rebuild([t.separator for t in translated], [t.translation for t in translated], plan.trailing)
    document = plan.html
    blocks: list[list[SpanTranslation]] = [[] for _ in document.blocks]
    attributes: list[list[SpanTranslation]] = [[] for _ in document.attributes]
    phrases: list[dict[int, str]] = [{} for _ in document.blocks]
    for item in translated:
        role = item.planned.role
        if role.kind is RoleKind.PHRASE:
            phrases[role.index][role.pair] = item.translation
        else:
            (blocks if role.kind is RoleKind.BLOCK else attributes)[role.index].append(item)

    def joined(group: list[SpanTranslation]) -> str | None:
        if not any(item.planned.model_input is not None for item in group):
            return None
        return rebuild([item.separator for item in group], [item.translation for item in group]).strip()

    return markup.rebuild(
        document, [joined(group) for group in blocks], [joined(group) for group in attributes], phrases
    )
