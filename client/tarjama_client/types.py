"""Typed results of the Tarjama API (plain dataclasses, not protobufs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import TarjamaError


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0


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


@dataclass(frozen=True)
class SummarizeResult:
    summary: str
    summary_language: str
    model: str
    usage: Usage
    detected_language: str = ""
    method: str = ""
    style: str = ""

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
