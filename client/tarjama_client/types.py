"""Typed results of the Tarjama API (plain dataclasses, not protobufs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import TarjamaError

UNTRAINED_WARNING = (
    "WARNING: the server runs UNTRAINED test models (random weights); this output is noise, "
    "not a translation or summary."
)


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class Alternative:
    """Another translation of a segment, with its score (``translate(..., alternatives=N)``)."""

    translation: str
    log_probability: float
    confidence: float


@dataclass(frozen=True)
class Timings:
    """Where a call's time went, in milliseconds, measured by the server."""

    queue_ms: float = 0.0
    model_ms: float = 0.0
    total_ms: float = 0.0


@dataclass(frozen=True)
class Segment:
    source: str
    translation: str
    source_start: int
    source_end: int
    separator: str = ""
    # The language of this segment's paragraph; translation == source when not translated.
    detected_language: str = ""
    # The text's trailing whitespace, on its last segment only.
    trailing: str = ""
    # Glossary terms found in this segment whose rendering the translation lacks.
    glossary_missing: list[str] = field(default_factory=list)
    # The model's mean log-probability per output token (<= 0) and exp() of it (0-1);
    # None on a segment that passed through untranslated.
    log_probability: float | None = None
    confidence: float | None = None
    # Lower-case flag names: "passed_through", "repetition_retried", "cut", "unusual_length",
    # "source_copied", "glossary_missing", "cached".
    flags: list[str] = field(default_factory=list)
    alternatives: list[Alternative] = field(default_factory=list)


@dataclass(frozen=True)
class Translation:
    text: str
    segments: list[Segment]
    detected_language: str


@dataclass(frozen=True)
class TranslateResult:
    translations: list[Translation]
    model: str
    usage: Usage
    request_id: str = ""
    timings: Timings = field(default_factory=Timings)

    @property
    def untrained(self) -> bool:
        return "UNTRAINED" in self.model


@dataclass(frozen=True)
class TranslateEvent:
    text_index: int
    segment_index: int
    total_segments: int
    segment: Segment
    detected_language: str
    model: str
    usage: Usage
    request_id: str = ""
    # The call's timings, on its last event only.
    timings: Timings | None = None


@dataclass(frozen=True)
class SummarizeResult:
    summary: str
    summary_language: str
    model: str
    usage: Usage
    detected_language: str = ""
    method: str = ""
    style: str = ""
    request_id: str = ""
    timings: Timings = field(default_factory=Timings)
    # The summarizer's score for what it wrote, as Segment's; None for an empty summary.
    log_probability: float | None = None
    confidence: float | None = None

    @property
    def untrained(self) -> bool:
        return "UNTRAINED" in self.model


@dataclass(frozen=True)
class ModelInfo:
    id: str
    task: str
    source_languages: list[str]
    target_languages: list[str]
    revision: str
    license: str
    engine: str
    device: str
    untrained: bool = False
    max_input_tokens: int = 0
    notice: str = ""
    max_output_tokens: int = 0


@dataclass(frozen=True)
class DecodingOptions:
    """Zero means the server's default."""

    num_beams: int = 0
    max_new_tokens: int = 0


@dataclass(frozen=True)
class BatchItem:
    """One item of ``translate_many``: its ``id`` comes back with its result. Empty fields take
    the value ``translate_many`` was given for every item."""

    id: Any
    text: str
    mime_type: str = ""
    source_language: str = ""
    glossary: Mapping[str, str] | None = None


@dataclass(frozen=True)
class BatchResult:
    """What ``translate_many`` yields for an item: ``result`` (and ``summary`` when asked), or ``error``."""

    item: BatchItem
    result: TranslateResult | None = None
    summary: SummarizeResult | None = None
    error: TarjamaError | None = None
    seconds: float = 0.0  # from the first call's start to the item's end, retries included

    @property
    def id(self) -> Any:
        return self.item.id

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class ServerInfo:
    """The limits a client must respect and what the server runs (``server_info()``)."""

    version: str = ""
    engines: list[str] = field(default_factory=list)
    max_texts: int = 0
    max_text_chars: int = 0
    max_request_chars: int = 0
    min_beams: int = 0
    max_beams: int = 0
    min_summary_tokens: int = 0
    max_summary_tokens: int = 0
    max_queue_seconds: float = 0.0
    max_alternatives: int = 0
    max_alternatives_chars: int = 0
    cache_max_bytes: int = 0
    cache_bytes: int = 0
