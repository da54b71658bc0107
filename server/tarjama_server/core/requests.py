"""The requests the pipelines serve, as a transport hands them in, the limits they are
checked against, and the checks. Every transport converts its wire format into these and
the pipelines check them here, so a bad request gets the same message over any transport."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..errors import InvalidRequestError
from ..text.glossary import Glossary
from ..text.languages import normalize_language
from .desk import check_name, check_similarity
from .limits import RequestLimits
from .recipes import DEFAULT_STYLE, STYLES, SummaryStyle


@dataclass(frozen=True, kw_only=True)
class TranslationRequest:
    """Texts to translate, as sent: languages may be empty (identify each paragraph; English),
    options 0 (the server's default), ``mime_type`` empty or ``text/plain`` or ``text/html``."""

    texts: Sequence[str]
    source_language: str = ""
    target_language: str = ""
    num_beams: int = 0
    max_new_tokens: int = 0
    mime_type: str = ""
    glossary: Mapping[str, str] = field(default_factory=dict)
    alternatives: int = 0
    # The desk: a stored glossary's id, a translation memory's name, and the least similarity
    # of a near match (None: the server's default).
    glossary_id: str = ""
    memory: str = ""
    memory_min_similarity: float | None = None


@dataclass(frozen=True, kw_only=True)
class SummarizationRequest:
    """An article to summarize, as sent; ``style`` is a name in ``recipes.STYLES`` (empty: the default)."""

    text: str
    source_language: str = ""
    summary_language: str = ""
    max_summary_tokens: int = 0
    num_beams: int = 0
    style: str = ""
    mime_type: str = ""


def check_text(name: str, text: str, limits: RequestLimits) -> None:
    if not text.strip():
        raise InvalidRequestError(f"{name} is empty: send text with at least one non-space character")
    if len(text) > limits.max_text_chars:
        raise InvalidRequestError(
            f"{name} has {len(text)} characters, over this server's limit of {limits.max_text_chars}: "
            "split the document into several texts or requests"
        )


def check_range(name: str, value: int, low: int, high: int) -> None:
    if value != 0 and not low <= value <= high:
        raise InvalidRequestError(f"{name} must be 0 (server default) or between {low} and {high}, got {value}")


def check_alternatives(alternatives: int, chars: int, limits: RequestLimits) -> None:
    if alternatives == 0:
        return
    if not 0 < alternatives <= limits.max_alternatives:
        raise InvalidRequestError(
            f"alternatives must be 0 (none) or between 1 and max_alternatives={limits.max_alternatives}, "
            f"got {alternatives}"
        )
    if chars > limits.max_alternatives_chars:
        raise InvalidRequestError(
            f"alternatives are for short texts such as headlines: this request has {chars} characters, over "
            f"max_alternatives_chars={limits.max_alternatives_chars}; send the short texts on their own"
        )


@dataclass(frozen=True, kw_only=True)
class CheckedTranslation:
    """A translation request checked and converted: languages normalized (empty: identify;
    English), options 0 for the server's defaults."""

    texts: Sequence[str]
    source_language: str = ""
    target_language: str = ""
    num_beams: int = 0
    max_new_tokens: int = 0
    html: bool = False
    glossary: Glossary | None = None
    alternatives: int = 0
    glossary_id: str = ""
    memory: str = ""  # empty: no memory is read
    memory_min_similarity: float | None = None  # None: the server's default


def is_html(mime_type: str) -> bool:
    """Whether a request's ``mime_type`` says HTML, or InvalidRequestError for a type not served."""
    essence = mime_type.split(";")[0].strip().lower()  # "text/html; charset=utf-8"
    if essence not in ("", "text/plain", "text/html"):
        raise InvalidRequestError(f"mime_type {mime_type!r} is not supported: use text/plain or text/html")
    return essence == "text/html"


def check_translation(request: TranslationRequest, limits: RequestLimits, *, max_new_tokens: int) -> CheckedTranslation:
    """``request`` checked against the server's limits and the model's (``max_new_tokens``:
    what its decoder can write, as ListModels reports it), or InvalidRequestError."""
    texts = request.texts
    if not texts:
        raise InvalidRequestError("texts is empty: send at least one text to translate")
    if len(texts) > limits.max_texts:
        raise InvalidRequestError(
            f"{len(texts)} texts in one request, over this server's limit of {limits.max_texts}: "
            "send them in several requests"
        )
    for index, text in enumerate(texts):
        check_text(f"texts[{index}]", text, limits)
    check_range("options.num_beams", request.num_beams, 1, limits.max_beams)
    check_range("options.max_new_tokens", request.max_new_tokens, 1, max_new_tokens)
    check_alternatives(request.alternatives, sum(map(len, texts)), limits)
    return CheckedTranslation(
        texts=texts,
        source_language=normalize_language(request.source_language, "source_language"),
        target_language=normalize_language(request.target_language, "target_language"),
        num_beams=request.num_beams,
        max_new_tokens=request.max_new_tokens,
        html=is_html(request.mime_type),
        glossary=Glossary.checked(dict(request.glossary)) if request.glossary else None,
        alternatives=request.alternatives,
        glossary_id=request.glossary_id.strip(),
        memory=check_name(request.memory, "memory") if request.memory.strip() else "",
        memory_min_similarity=(
            None
            if not request.memory_min_similarity
            else check_similarity(request.memory_min_similarity, 0.0, "memory_min_similarity")
        ),
    )


@dataclass(frozen=True, kw_only=True)
class CheckedSummarization:
    """A summarization request checked and converted."""

    text: str
    source_language: str
    summary_language: str
    max_summary_tokens: int
    num_beams: int
    style: SummaryStyle
    html: bool = False  # text is an HTML document: its text is summarized


def check_summarization(
    request: SummarizationRequest, limits: RequestLimits, *, max_summary_tokens: int
) -> CheckedSummarization:
    """``request`` checked against the server's limits and the model's (``max_summary_tokens``:
    what its decoder can write), or InvalidRequestError."""
    check_text("text", request.text, limits)
    low, high = limits.summary_tokens
    check_range("max_summary_tokens", request.max_summary_tokens, low, min(high, max_summary_tokens))
    check_range("num_beams", request.num_beams, 1, limits.max_beams)
    style = STYLES.get(request.style or DEFAULT_STYLE)
    if style is None:
        raise InvalidRequestError(f"style {request.style!r} is not one of {', '.join(STYLES)}")
    return CheckedSummarization(
        text=request.text,
        source_language=normalize_language(request.source_language, "source_language"),
        summary_language=normalize_language(request.summary_language, "summary_language"),
        max_summary_tokens=request.max_summary_tokens,
        num_beams=request.num_beams,
        style=style,
        html=is_html(request.mime_type),
    )
