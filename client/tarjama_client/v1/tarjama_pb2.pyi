from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SegmentFlag(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEGMENT_FLAG_UNSPECIFIED: _ClassVar[SegmentFlag]
    SEGMENT_FLAG_PASSED_THROUGH: _ClassVar[SegmentFlag]
    SEGMENT_FLAG_REPETITION_RETRIED: _ClassVar[SegmentFlag]
    SEGMENT_FLAG_CUT: _ClassVar[SegmentFlag]
    SEGMENT_FLAG_UNUSUAL_LENGTH: _ClassVar[SegmentFlag]
    SEGMENT_FLAG_SOURCE_COPIED: _ClassVar[SegmentFlag]
    SEGMENT_FLAG_GLOSSARY_MISSING: _ClassVar[SegmentFlag]
    SEGMENT_FLAG_CACHED: _ClassVar[SegmentFlag]

class SummaryStyle(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUMMARY_STYLE_UNSPECIFIED: _ClassVar[SummaryStyle]
    SUMMARY_STYLE_HEADLINE: _ClassVar[SummaryStyle]
    SUMMARY_STYLE_SHORT: _ClassVar[SummaryStyle]
    SUMMARY_STYLE_LONG: _ClassVar[SummaryStyle]

class Task(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_UNSPECIFIED: _ClassVar[Task]
    TASK_TRANSLATION: _ClassVar[Task]
    TASK_SUMMARIZATION: _ClassVar[Task]
SEGMENT_FLAG_UNSPECIFIED: SegmentFlag
SEGMENT_FLAG_PASSED_THROUGH: SegmentFlag
SEGMENT_FLAG_REPETITION_RETRIED: SegmentFlag
SEGMENT_FLAG_CUT: SegmentFlag
SEGMENT_FLAG_UNUSUAL_LENGTH: SegmentFlag
SEGMENT_FLAG_SOURCE_COPIED: SegmentFlag
SEGMENT_FLAG_GLOSSARY_MISSING: SegmentFlag
SEGMENT_FLAG_CACHED: SegmentFlag
SUMMARY_STYLE_UNSPECIFIED: SummaryStyle
SUMMARY_STYLE_HEADLINE: SummaryStyle
SUMMARY_STYLE_SHORT: SummaryStyle
SUMMARY_STYLE_LONG: SummaryStyle
TASK_UNSPECIFIED: Task
TASK_TRANSLATION: Task
TASK_SUMMARIZATION: Task

class DecodingOptions(_message.Message):
    __slots__ = ("num_beams", "max_new_tokens")
    NUM_BEAMS_FIELD_NUMBER: _ClassVar[int]
    MAX_NEW_TOKENS_FIELD_NUMBER: _ClassVar[int]
    num_beams: int
    max_new_tokens: int
    def __init__(self, num_beams: _Optional[int] = ..., max_new_tokens: _Optional[int] = ...) -> None: ...

class TranslateRequest(_message.Message):
    __slots__ = ("texts", "source_language", "target_language", "options", "mime_type", "glossary", "alternatives")
    class GlossaryEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TARGET_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    GLOSSARY_FIELD_NUMBER: _ClassVar[int]
    ALTERNATIVES_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    source_language: str
    target_language: str
    options: DecodingOptions
    mime_type: str
    glossary: _containers.ScalarMap[str, str]
    alternatives: int
    def __init__(self, texts: _Optional[_Iterable[str]] = ..., source_language: _Optional[str] = ..., target_language: _Optional[str] = ..., options: _Optional[_Union[DecodingOptions, _Mapping]] = ..., mime_type: _Optional[str] = ..., glossary: _Optional[_Mapping[str, str]] = ..., alternatives: _Optional[int] = ...) -> None: ...

class Alternative(_message.Message):
    __slots__ = ("translation", "log_probability", "confidence")
    TRANSLATION_FIELD_NUMBER: _ClassVar[int]
    LOG_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    translation: str
    log_probability: float
    confidence: float
    def __init__(self, translation: _Optional[str] = ..., log_probability: _Optional[float] = ..., confidence: _Optional[float] = ...) -> None: ...

class Timings(_message.Message):
    __slots__ = ("queue_ms", "model_ms", "total_ms")
    QUEUE_MS_FIELD_NUMBER: _ClassVar[int]
    MODEL_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MS_FIELD_NUMBER: _ClassVar[int]
    queue_ms: float
    model_ms: float
    total_ms: float
    def __init__(self, queue_ms: _Optional[float] = ..., model_ms: _Optional[float] = ..., total_ms: _Optional[float] = ...) -> None: ...

class Segment(_message.Message):
    __slots__ = ("source", "translation", "source_start", "source_end", "separator", "detected_language", "trailing", "glossary_missing", "log_probability", "confidence", "flags", "alternatives")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TRANSLATION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_START_FIELD_NUMBER: _ClassVar[int]
    SOURCE_END_FIELD_NUMBER: _ClassVar[int]
    SEPARATOR_FIELD_NUMBER: _ClassVar[int]
    DETECTED_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TRAILING_FIELD_NUMBER: _ClassVar[int]
    GLOSSARY_MISSING_FIELD_NUMBER: _ClassVar[int]
    LOG_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    ALTERNATIVES_FIELD_NUMBER: _ClassVar[int]
    source: str
    translation: str
    source_start: int
    source_end: int
    separator: str
    detected_language: str
    trailing: str
    glossary_missing: _containers.RepeatedScalarFieldContainer[str]
    log_probability: float
    confidence: float
    flags: _containers.RepeatedScalarFieldContainer[SegmentFlag]
    alternatives: _containers.RepeatedCompositeFieldContainer[Alternative]
    def __init__(self, source: _Optional[str] = ..., translation: _Optional[str] = ..., source_start: _Optional[int] = ..., source_end: _Optional[int] = ..., separator: _Optional[str] = ..., detected_language: _Optional[str] = ..., trailing: _Optional[str] = ..., glossary_missing: _Optional[_Iterable[str]] = ..., log_probability: _Optional[float] = ..., confidence: _Optional[float] = ..., flags: _Optional[_Iterable[_Union[SegmentFlag, str]]] = ..., alternatives: _Optional[_Iterable[_Union[Alternative, _Mapping]]] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("input_tokens", "output_tokens")
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    input_tokens: int
    output_tokens: int
    def __init__(self, input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ...) -> None: ...

class Translation(_message.Message):
    __slots__ = ("text", "segments", "detected_language")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    DETECTED_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    text: str
    segments: _containers.RepeatedCompositeFieldContainer[Segment]
    detected_language: str
    def __init__(self, text: _Optional[str] = ..., segments: _Optional[_Iterable[_Union[Segment, _Mapping]]] = ..., detected_language: _Optional[str] = ...) -> None: ...

class TranslateResponse(_message.Message):
    __slots__ = ("translations", "model", "usage", "request_id", "timings")
    TRANSLATIONS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TIMINGS_FIELD_NUMBER: _ClassVar[int]
    translations: _containers.RepeatedCompositeFieldContainer[Translation]
    model: str
    usage: Usage
    request_id: str
    timings: Timings
    def __init__(self, translations: _Optional[_Iterable[_Union[Translation, _Mapping]]] = ..., model: _Optional[str] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., request_id: _Optional[str] = ..., timings: _Optional[_Union[Timings, _Mapping]] = ...) -> None: ...

class TranslateEvent(_message.Message):
    __slots__ = ("text_index", "segment_index", "total_segments", "segment", "detected_language", "model", "usage", "request_id", "timings")
    TEXT_INDEX_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    DETECTED_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TIMINGS_FIELD_NUMBER: _ClassVar[int]
    text_index: int
    segment_index: int
    total_segments: int
    segment: Segment
    detected_language: str
    model: str
    usage: Usage
    request_id: str
    timings: Timings
    def __init__(self, text_index: _Optional[int] = ..., segment_index: _Optional[int] = ..., total_segments: _Optional[int] = ..., segment: _Optional[_Union[Segment, _Mapping]] = ..., detected_language: _Optional[str] = ..., model: _Optional[str] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., request_id: _Optional[str] = ..., timings: _Optional[_Union[Timings, _Mapping]] = ...) -> None: ...

class SummarizeRequest(_message.Message):
    __slots__ = ("text", "source_language", "summary_language", "max_summary_tokens", "num_beams", "style", "mime_type")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    MAX_SUMMARY_TOKENS_FIELD_NUMBER: _ClassVar[int]
    NUM_BEAMS_FIELD_NUMBER: _ClassVar[int]
    STYLE_FIELD_NUMBER: _ClassVar[int]
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    text: str
    source_language: str
    summary_language: str
    max_summary_tokens: int
    num_beams: int
    style: SummaryStyle
    mime_type: str
    def __init__(self, text: _Optional[str] = ..., source_language: _Optional[str] = ..., summary_language: _Optional[str] = ..., max_summary_tokens: _Optional[int] = ..., num_beams: _Optional[int] = ..., style: _Optional[_Union[SummaryStyle, str]] = ..., mime_type: _Optional[str] = ...) -> None: ...

class SummarizeResponse(_message.Message):
    __slots__ = ("summary", "summary_language", "model", "usage", "detected_language", "method", "style", "request_id", "timings", "log_probability", "confidence")
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    DETECTED_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    STYLE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TIMINGS_FIELD_NUMBER: _ClassVar[int]
    LOG_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    summary: str
    summary_language: str
    model: str
    usage: Usage
    detected_language: str
    method: str
    style: str
    request_id: str
    timings: Timings
    log_probability: float
    confidence: float
    def __init__(self, summary: _Optional[str] = ..., summary_language: _Optional[str] = ..., model: _Optional[str] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., detected_language: _Optional[str] = ..., method: _Optional[str] = ..., style: _Optional[str] = ..., request_id: _Optional[str] = ..., timings: _Optional[_Union[Timings, _Mapping]] = ..., log_probability: _Optional[float] = ..., confidence: _Optional[float] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("id", "task", "source_languages", "target_languages", "revision", "license", "engine", "device", "untrained", "max_input_tokens", "notice", "max_output_tokens")
    ID_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    SOURCE_LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    TARGET_LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    LICENSE_FIELD_NUMBER: _ClassVar[int]
    ENGINE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    UNTRAINED_FIELD_NUMBER: _ClassVar[int]
    MAX_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    NOTICE_FIELD_NUMBER: _ClassVar[int]
    MAX_OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    id: str
    task: Task
    source_languages: _containers.RepeatedScalarFieldContainer[str]
    target_languages: _containers.RepeatedScalarFieldContainer[str]
    revision: str
    license: str
    engine: str
    device: str
    untrained: bool
    max_input_tokens: int
    notice: str
    max_output_tokens: int
    def __init__(self, id: _Optional[str] = ..., task: _Optional[_Union[Task, str]] = ..., source_languages: _Optional[_Iterable[str]] = ..., target_languages: _Optional[_Iterable[str]] = ..., revision: _Optional[str] = ..., license: _Optional[str] = ..., engine: _Optional[str] = ..., device: _Optional[str] = ..., untrained: _Optional[bool] = ..., max_input_tokens: _Optional[int] = ..., notice: _Optional[str] = ..., max_output_tokens: _Optional[int] = ...) -> None: ...

class ServerInfo(_message.Message):
    __slots__ = ("version", "engines", "max_texts", "max_text_chars", "max_request_chars", "min_beams", "max_beams", "min_summary_tokens", "max_summary_tokens", "max_queue_seconds", "max_alternatives", "max_alternatives_chars", "cache_max_bytes", "cache_bytes", "summary_styles", "default_summary_style", "default_target_language")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ENGINES_FIELD_NUMBER: _ClassVar[int]
    MAX_TEXTS_FIELD_NUMBER: _ClassVar[int]
    MAX_TEXT_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_REQUEST_CHARS_FIELD_NUMBER: _ClassVar[int]
    MIN_BEAMS_FIELD_NUMBER: _ClassVar[int]
    MAX_BEAMS_FIELD_NUMBER: _ClassVar[int]
    MIN_SUMMARY_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MAX_SUMMARY_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MAX_QUEUE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_ALTERNATIVES_FIELD_NUMBER: _ClassVar[int]
    MAX_ALTERNATIVES_CHARS_FIELD_NUMBER: _ClassVar[int]
    CACHE_MAX_BYTES_FIELD_NUMBER: _ClassVar[int]
    CACHE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_STYLES_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_SUMMARY_STYLE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_TARGET_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    version: str
    engines: _containers.RepeatedScalarFieldContainer[str]
    max_texts: int
    max_text_chars: int
    max_request_chars: int
    min_beams: int
    max_beams: int
    min_summary_tokens: int
    max_summary_tokens: int
    max_queue_seconds: float
    max_alternatives: int
    max_alternatives_chars: int
    cache_max_bytes: int
    cache_bytes: int
    summary_styles: _containers.RepeatedScalarFieldContainer[str]
    default_summary_style: str
    default_target_language: str
    def __init__(self, version: _Optional[str] = ..., engines: _Optional[_Iterable[str]] = ..., max_texts: _Optional[int] = ..., max_text_chars: _Optional[int] = ..., max_request_chars: _Optional[int] = ..., min_beams: _Optional[int] = ..., max_beams: _Optional[int] = ..., min_summary_tokens: _Optional[int] = ..., max_summary_tokens: _Optional[int] = ..., max_queue_seconds: _Optional[float] = ..., max_alternatives: _Optional[int] = ..., max_alternatives_chars: _Optional[int] = ..., cache_max_bytes: _Optional[int] = ..., cache_bytes: _Optional[int] = ..., summary_styles: _Optional[_Iterable[str]] = ..., default_summary_style: _Optional[str] = ..., default_target_language: _Optional[str] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models", "server")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    SERVER_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    server: ServerInfo
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ..., server: _Optional[_Union[ServerInfo, _Mapping]] = ...) -> None: ...
