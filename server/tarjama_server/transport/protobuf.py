"""``tarjama.v1`` messages ↔ the core's requests and results."""

from __future__ import annotations

from typing import Any

from tarjama_client.v1 import tarjama_pb2 as pb

from ..core.context import CLOCK, RequestContext, Timings, Usage
from ..core.pipelines import ServerInfo
from ..core.requests import SummarizationRequest, TranslationRequest
from ..core.summarization import SummaryResult
from ..core.translation import TranslatedSegment, TranslationEvent, TranslationResult
from ..core.trust import SegmentFlag, confidence
from ..engines.base import ModelInfo, Task
from ..errors import InvalidRequestError
from . import desk_methods

_TASKS = {Task.TRANSLATION: pb.TASK_TRANSLATION, Task.SUMMARIZATION: pb.TASK_SUMMARIZATION}
_FLAGS = {
    SegmentFlag.PASSED_THROUGH: pb.SEGMENT_FLAG_PASSED_THROUGH,
    SegmentFlag.REPETITION_RETRIED: pb.SEGMENT_FLAG_REPETITION_RETRIED,
    SegmentFlag.CUT: pb.SEGMENT_FLAG_CUT,
    SegmentFlag.UNUSUAL_LENGTH: pb.SEGMENT_FLAG_UNUSUAL_LENGTH,
    SegmentFlag.SOURCE_COPIED: pb.SEGMENT_FLAG_SOURCE_COPIED,
    SegmentFlag.GLOSSARY_MISSING: pb.SEGMENT_FLAG_GLOSSARY_MISSING,
    SegmentFlag.CACHED: pb.SEGMENT_FLAG_CACHED,
    SegmentFlag.FROM_MEMORY: pb.SEGMENT_FLAG_FROM_MEMORY,
    SegmentFlag.MEMORY_MATCH: pb.SEGMENT_FLAG_MEMORY_MATCH,
}
# The SummaryStyle enum ↔ the core's style names (recipes.STYLES, the one list of styles): a
# value's name without its prefix, in lower case; UNSPECIFIED is the server's default ("").
STYLES = {
    value: "" if value == pb.SUMMARY_STYLE_UNSPECIFIED else name.removeprefix("SUMMARY_STYLE_").lower()
    for name, value in pb.SummaryStyle.items()
}


def translation_request(request: pb.TranslateRequest) -> TranslationRequest:
    return TranslationRequest(
        texts=list(request.texts),
        source_language=request.source_language,
        target_language=request.target_language,
        num_beams=request.options.num_beams,
        max_new_tokens=request.options.max_new_tokens,
        mime_type=request.mime_type,
        glossary=dict(request.glossary),
        alternatives=request.alternatives,
        glossary_id=request.glossary_id,
        memory=request.memory,
        memory_min_similarity=request.memory_min_similarity if request.HasField("memory_min_similarity") else None,
    )


def summarization_request(request: pb.SummarizeRequest) -> SummarizationRequest:
    if request.style not in STYLES:
        *names, last = (pb.SummaryStyle.Name(value).removeprefix("SUMMARY_STYLE_") for value in STYLES if value)
        raise InvalidRequestError(
            f"style {request.style} is not a SummaryStyle: use {', '.join(names)} or {last} (or leave it unset)"
        )
    return SummarizationRequest(
        text=request.text,
        source_language=request.source_language,
        summary_language=request.summary_language,
        max_summary_tokens=request.max_summary_tokens,
        num_beams=request.num_beams,
        style=STYLES[request.style],
        mime_type=request.mime_type,
    )


def usage(used: Usage) -> pb.Usage:
    return pb.Usage(input_tokens=used.input_tokens, output_tokens=used.output_tokens)


def timings(spent: Timings, context: RequestContext) -> pb.Timings:
    """The call's timings, its total measured now, from its arrival."""
    return pb.Timings(
        queue_ms=spent.queue_seconds * 1000,
        model_ms=spent.model_seconds * 1000,
        total_ms=(CLOCK() - context.started) * 1000,
    )


def segment(segment: TranslatedSegment) -> pb.Segment:
    return pb.Segment(
        source=segment.source,
        translation=segment.translation,
        source_start=segment.start,
        source_end=segment.end,
        separator=segment.separator,
        detected_language=segment.detected_language,
        trailing=segment.trailing,
        glossary_missing=list(segment.glossary_missing),
        log_probability=segment.log_probability,
        confidence=segment.confidence,
        flags=[_FLAGS[flag] for flag in segment.flags],
        alternatives=[
            pb.Alternative(
                translation=other.text,
                log_probability=other.log_probability,
                confidence=confidence(other.log_probability),
            )
            for other in segment.alternatives
        ],
        memory_match=None if segment.memory_match is None else desk_methods.memory_match(segment.memory_match),
    )


def translate_event(event: TranslationEvent, context: RequestContext) -> pb.TranslateEvent:
    """One streamed segment, with its text's segment count for progress; the call's timings
    on its last event."""
    done = event.segment
    return pb.TranslateEvent(
        request_id=context.request_id,
        timings=None if event.timings is None else timings(event.timings, context),
        text_index=done.text_index,
        segment_index=done.index,
        total_segments=event.total_segments,
        segment=segment(done),
        detected_language=event.detected_language,
        model=event.model,
        usage=usage(done.usage),
    )


def translate_response(result: TranslationResult, context: RequestContext) -> pb.TranslateResponse:
    return pb.TranslateResponse(
        request_id=context.request_id,
        timings=timings(result.report.timings, context),
        translations=[
            pb.Translation(
                text=document.text,
                segments=[segment(s) for s in document.segments],
                detected_language=document.detected_language,
            )
            for document in result.documents
        ],
        model=result.model,
        usage=usage(result.report.usage),
    )


def summarize_response(result: SummaryResult, context: RequestContext) -> pb.SummarizeResponse:
    return pb.SummarizeResponse(
        request_id=context.request_id,
        timings=timings(result.report.timings, context),
        log_probability=result.log_probability,
        confidence=result.confidence,
        summary=result.summary,
        summary_language=result.summary_language,
        model=result.model,
        usage=usage(result.report.usage),
        detected_language=result.detected_language,
        method=result.method,
        style=result.style,
    )


def model_info(info: ModelInfo) -> pb.ModelInfo:
    return pb.ModelInfo(
        id=info.id,
        task=_TASKS[info.task],
        source_languages=list(info.source_languages),
        target_languages=list(info.target_languages),
        revision=info.revision,
        license=info.license,
        engine=info.engine,
        device=info.device,
        untrained=info.untrained,
        max_input_tokens=info.max_input_tokens,
        notice=info.notice,
        max_output_tokens=info.max_output_tokens,
    )


def server_info(info: ServerInfo) -> pb.ServerInfo:
    limits = info.limits
    return pb.ServerInfo(
        version=info.version,
        engines=list(info.engines),
        max_texts=limits.max_texts,
        max_text_chars=limits.max_text_chars,
        max_request_chars=limits.max_request_chars,
        min_beams=1,
        max_beams=limits.max_beams,
        min_summary_tokens=limits.summary_tokens[0],
        max_summary_tokens=limits.summary_tokens[1],
        max_queue_seconds=info.max_queue_seconds,
        max_alternatives=limits.max_alternatives,
        max_alternatives_chars=limits.max_alternatives_chars,
        cache_max_bytes=info.cache_max_bytes,
        cache_bytes=info.cache_bytes,
        summary_styles=list(info.summary_styles),
        default_summary_style=info.default_summary_style,
        default_target_language=info.default_target_language,
        **desk_info(info),
    )


def desk_info(info: ServerInfo) -> dict[str, Any]:
    """ServerInfo's desk fields: off, or the database's kind and the desk's limits."""
    desk = info.desk
    if desk is None:
        return {"desk_enabled": False}
    return {
        "desk_enabled": True,
        "database": info.database,
        "max_glossary_entries": desk.max_glossary_entries,
        "max_glossary_term_chars": desk.max_term_chars,
        "max_glossary_file_bytes": desk.max_glossary_file_bytes,
        "max_memory_text_chars": desk.max_text_chars,
        "max_tmx_bytes": desk.max_tmx_bytes,
        "max_tmx_units": desk.max_tmx_units,
        "max_search_results": desk.max_search_results,
        "memory_min_similarity": desk.min_similarity,
    }
