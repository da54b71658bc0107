"""protobuf ↔ dataclass conversion shared by the sync and asyncio clients."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import grpc

from .desk import MemoryMatch, TranslateDesk
from .errors import InvalidRequestError
from .types import (
    Alternative,
    DecodingOptions,
    ModelInfo,
    Segment,
    ServerInfo,
    SummarizeResult,
    Timings,
    TranslateEvent,
    TranslateResult,
    Translation,
    Usage,
)
from .v1 import tarjama_pb2 as pb

_TASK_NAMES = {pb.TASK_TRANSLATION: "translation", pb.TASK_SUMMARIZATION: "summarization"}


def check_text(name: str, text: str) -> None:
    """Refuse text that cannot be sent as UTF-8 (lone surrogates, e.g. from a bad
    decode with errors="surrogateescape") before it reaches protobuf."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidRequestError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"{name} is not valid Unicode text: {error.object[error.start : error.end]!r} at index {error.start} "
            "(a lone surrogate) cannot be encoded as UTF-8; fix how the text was decoded",
        ) from None


def translate_request(
    texts: str | Sequence[str],
    source_language: str,
    target_language: str,
    options: DecodingOptions | None,
    mime_type: str = "",
    glossary: Mapping[str, str] | None = None,
    alternatives: int = 0,
    desk: TranslateDesk | None = None,
) -> pb.TranslateRequest:
    options = options or DecodingOptions()
    texts = [texts] if isinstance(texts, str) else list(texts)
    for index, text in enumerate(texts):
        check_text(f"texts[{index}]", text)
    for term, rendering in (glossary or {}).items():
        check_text(f"glossary term {term[:20]!r}", term + rendering)
    return pb.TranslateRequest(
        texts=texts,
        source_language=source_language,
        target_language=target_language,
        options=pb.DecodingOptions(num_beams=options.num_beams, max_new_tokens=options.max_new_tokens),
        mime_type=mime_type,
        glossary=dict(glossary or {}),
        alternatives=alternatives,
        **(desk or TranslateDesk()).fields(),
    )


_STYLE_PREFIX = "SUMMARY_STYLE_"
# The summary styles, read from the proto's enum (their one source): the client's name of each
# ("headline") → the enum's (SUMMARY_STYLE_HEADLINE); the zero value, the server's default, is "".
SUMMARY_STYLES: dict[str, str] = {
    name.removeprefix(_STYLE_PREFIX).lower() if number else "": name for name, number in pb.SummaryStyle.items()
}
STYLE_NAMES: tuple[str, ...] = tuple(name for name in SUMMARY_STYLES if name)


def check_style(style: str) -> None:
    """InvalidRequestError for a style the proto does not name, with the ones it does."""
    if style not in SUMMARY_STYLES:
        raise InvalidRequestError(None, f"style {style!r} is not one of {', '.join(STYLE_NAMES)}")


def summarize_request(
    text: str,
    source_language: str,
    summary_language: str,
    max_summary_tokens: int,
    num_beams: int,
    style: str,
    mime_type: str = "",
) -> pb.SummarizeRequest:
    check_text("text", text)
    check_style(style)
    return pb.SummarizeRequest(
        text=text,
        source_language=source_language,
        summary_language=summary_language,
        max_summary_tokens=max_summary_tokens,
        num_beams=num_beams,
        style=SUMMARY_STYLES[style],
        mime_type=mime_type,
    )


_FLAG_PREFIX = "SEGMENT_FLAG_"


def timings(message: pb.Timings) -> Timings:
    return Timings(queue_ms=message.queue_ms, model_ms=message.model_ms, total_ms=message.total_ms)


def usage(message: pb.Usage) -> Usage:
    return Usage(input_tokens=message.input_tokens, output_tokens=message.output_tokens)


def segment(message: pb.Segment) -> Segment:
    return Segment(
        source=message.source,
        translation=message.translation,
        source_start=message.source_start,
        source_end=message.source_end,
        separator=message.separator,
        detected_language=message.detected_language,
        trailing=message.trailing,
        glossary_missing=list(message.glossary_missing),
        log_probability=message.log_probability if message.HasField("log_probability") else None,
        confidence=message.confidence if message.HasField("confidence") else None,
        flags=[pb.SegmentFlag.Name(flag).removeprefix(_FLAG_PREFIX).lower() for flag in message.flags],
        alternatives=[
            Alternative(translation=a.translation, log_probability=a.log_probability, confidence=a.confidence)
            for a in message.alternatives
        ],
        memory_match=MemoryMatch.from_pb(message.memory_match) if message.HasField("memory_match") else None,
    )


def translate_result(message: pb.TranslateResponse) -> TranslateResult:
    return TranslateResult(
        translations=[
            Translation(text=t.text, segments=[segment(s) for s in t.segments], detected_language=t.detected_language)
            for t in message.translations
        ],
        model=message.model,
        usage=usage(message.usage),
        request_id=message.request_id,
        timings=timings(message.timings),
    )


def translate_event(message: pb.TranslateEvent) -> TranslateEvent:
    return TranslateEvent(
        text_index=message.text_index,
        segment_index=message.segment_index,
        total_segments=message.total_segments,
        segment=segment(message.segment),
        detected_language=message.detected_language,
        model=message.model,
        usage=usage(message.usage),
        request_id=message.request_id,
        timings=timings(message.timings) if message.HasField("timings") else None,
    )


def summarize_result(message: pb.SummarizeResponse) -> SummarizeResult:
    return SummarizeResult(
        summary=message.summary,
        summary_language=message.summary_language,
        model=message.model,
        usage=usage(message.usage),
        detected_language=message.detected_language,
        method=message.method,
        style=message.style,
        request_id=message.request_id,
        timings=timings(message.timings),
        log_probability=message.log_probability if message.HasField("log_probability") else None,
        confidence=message.confidence if message.HasField("confidence") else None,
    )


def model_infos(message: pb.ListModelsResponse) -> list[ModelInfo]:
    return [
        ModelInfo(
            id=m.id,
            task=_TASK_NAMES.get(m.task, "unspecified"),
            source_languages=list(m.source_languages),
            target_languages=list(m.target_languages),
            revision=m.revision,
            license=m.license,
            engine=m.engine,
            device=m.device,
            untrained=m.untrained,
            max_input_tokens=m.max_input_tokens,
            notice=m.notice,
            max_output_tokens=m.max_output_tokens,
        )
        for m in message.models
    ]


def server_info(message: pb.ListModelsResponse) -> ServerInfo:
    info = message.server
    return ServerInfo(
        version=info.version,
        engines=list(info.engines),
        max_texts=info.max_texts,
        max_text_chars=info.max_text_chars,
        max_request_chars=info.max_request_chars,
        min_beams=info.min_beams,
        max_beams=info.max_beams,
        min_summary_tokens=info.min_summary_tokens,
        max_summary_tokens=info.max_summary_tokens,
        max_queue_seconds=info.max_queue_seconds,
        max_alternatives=info.max_alternatives,
        max_alternatives_chars=info.max_alternatives_chars,
        cache_max_bytes=info.cache_max_bytes,
        cache_bytes=info.cache_bytes,
    )
