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
    SEGMENT_FLAG_FROM_MEMORY: _ClassVar[SegmentFlag]
    SEGMENT_FLAG_MEMORY_MATCH: _ClassVar[SegmentFlag]
    SEGMENT_FLAG_OMISSION_SUSPECTED: _ClassVar[SegmentFlag]
    SEGMENT_FLAG_UNALIGNED_OUTPUT: _ClassVar[SegmentFlag]

class TagPlacement(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TAG_PLACEMENT_UNSPECIFIED: _ClassVar[TagPlacement]
    TAG_PLACEMENT_ALIGNMENT: _ClassVar[TagPlacement]
    TAG_PLACEMENT_POSITION: _ClassVar[TagPlacement]

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
SEGMENT_FLAG_FROM_MEMORY: SegmentFlag
SEGMENT_FLAG_MEMORY_MATCH: SegmentFlag
SEGMENT_FLAG_OMISSION_SUSPECTED: SegmentFlag
SEGMENT_FLAG_UNALIGNED_OUTPUT: SegmentFlag
TAG_PLACEMENT_UNSPECIFIED: TagPlacement
TAG_PLACEMENT_ALIGNMENT: TagPlacement
TAG_PLACEMENT_POSITION: TagPlacement
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
    __slots__ = ("texts", "source_language", "target_language", "options", "mime_type", "glossary", "alternatives", "glossary_id", "memory", "memory_min_similarity", "alignment")
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
    GLOSSARY_ID_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MIN_SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    ALIGNMENT_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    source_language: str
    target_language: str
    options: DecodingOptions
    mime_type: str
    glossary: _containers.ScalarMap[str, str]
    alternatives: int
    glossary_id: str
    memory: str
    memory_min_similarity: float
    alignment: bool
    def __init__(self, texts: _Optional[_Iterable[str]] = ..., source_language: _Optional[str] = ..., target_language: _Optional[str] = ..., options: _Optional[_Union[DecodingOptions, _Mapping]] = ..., mime_type: _Optional[str] = ..., glossary: _Optional[_Mapping[str, str]] = ..., alternatives: _Optional[int] = ..., glossary_id: _Optional[str] = ..., memory: _Optional[str] = ..., memory_min_similarity: _Optional[float] = ..., alignment: _Optional[bool] = ...) -> None: ...

class WordAlignment(_message.Message):
    __slots__ = ("source_start", "source_end", "target_start", "target_end")
    SOURCE_START_FIELD_NUMBER: _ClassVar[int]
    SOURCE_END_FIELD_NUMBER: _ClassVar[int]
    TARGET_START_FIELD_NUMBER: _ClassVar[int]
    TARGET_END_FIELD_NUMBER: _ClassVar[int]
    source_start: int
    source_end: int
    target_start: int
    target_end: int
    def __init__(self, source_start: _Optional[int] = ..., source_end: _Optional[int] = ..., target_start: _Optional[int] = ..., target_end: _Optional[int] = ...) -> None: ...

class WordConfidence(_message.Message):
    __slots__ = ("target_start", "target_end", "confidence")
    TARGET_START_FIELD_NUMBER: _ClassVar[int]
    TARGET_END_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    target_start: int
    target_end: int
    confidence: float
    def __init__(self, target_start: _Optional[int] = ..., target_end: _Optional[int] = ..., confidence: _Optional[float] = ...) -> None: ...

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
    __slots__ = ("source", "translation", "source_start", "source_end", "separator", "detected_language", "trailing", "glossary_missing", "log_probability", "confidence", "flags", "alternatives", "memory_match", "alignment", "word_confidences", "tag_placement")
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
    MEMORY_MATCH_FIELD_NUMBER: _ClassVar[int]
    ALIGNMENT_FIELD_NUMBER: _ClassVar[int]
    WORD_CONFIDENCES_FIELD_NUMBER: _ClassVar[int]
    TAG_PLACEMENT_FIELD_NUMBER: _ClassVar[int]
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
    memory_match: MemoryMatch
    alignment: _containers.RepeatedCompositeFieldContainer[WordAlignment]
    word_confidences: _containers.RepeatedCompositeFieldContainer[WordConfidence]
    tag_placement: TagPlacement
    def __init__(self, source: _Optional[str] = ..., translation: _Optional[str] = ..., source_start: _Optional[int] = ..., source_end: _Optional[int] = ..., separator: _Optional[str] = ..., detected_language: _Optional[str] = ..., trailing: _Optional[str] = ..., glossary_missing: _Optional[_Iterable[str]] = ..., log_probability: _Optional[float] = ..., confidence: _Optional[float] = ..., flags: _Optional[_Iterable[_Union[SegmentFlag, str]]] = ..., alternatives: _Optional[_Iterable[_Union[Alternative, _Mapping]]] = ..., memory_match: _Optional[_Union[MemoryMatch, _Mapping]] = ..., alignment: _Optional[_Iterable[_Union[WordAlignment, _Mapping]]] = ..., word_confidences: _Optional[_Iterable[_Union[WordConfidence, _Mapping]]] = ..., tag_placement: _Optional[_Union[TagPlacement, str]] = ...) -> None: ...

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
    __slots__ = ("version", "engines", "max_texts", "max_text_chars", "max_request_chars", "min_beams", "max_beams", "min_summary_tokens", "max_summary_tokens", "max_queue_seconds", "max_alternatives", "max_alternatives_chars", "cache_max_bytes", "cache_bytes", "summary_styles", "default_summary_style", "default_target_language", "desk_enabled", "database", "max_glossary_entries", "max_glossary_term_chars", "max_glossary_file_bytes", "max_memory_text_chars", "max_tmx_bytes", "max_tmx_units", "max_search_results", "memory_min_similarity")
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
    DESK_ENABLED_FIELD_NUMBER: _ClassVar[int]
    DATABASE_FIELD_NUMBER: _ClassVar[int]
    MAX_GLOSSARY_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    MAX_GLOSSARY_TERM_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_GLOSSARY_FILE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_MEMORY_TEXT_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_TMX_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_TMX_UNITS_FIELD_NUMBER: _ClassVar[int]
    MAX_SEARCH_RESULTS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MIN_SIMILARITY_FIELD_NUMBER: _ClassVar[int]
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
    desk_enabled: bool
    database: str
    max_glossary_entries: int
    max_glossary_term_chars: int
    max_glossary_file_bytes: int
    max_memory_text_chars: int
    max_tmx_bytes: int
    max_tmx_units: int
    max_search_results: int
    memory_min_similarity: float
    def __init__(self, version: _Optional[str] = ..., engines: _Optional[_Iterable[str]] = ..., max_texts: _Optional[int] = ..., max_text_chars: _Optional[int] = ..., max_request_chars: _Optional[int] = ..., min_beams: _Optional[int] = ..., max_beams: _Optional[int] = ..., min_summary_tokens: _Optional[int] = ..., max_summary_tokens: _Optional[int] = ..., max_queue_seconds: _Optional[float] = ..., max_alternatives: _Optional[int] = ..., max_alternatives_chars: _Optional[int] = ..., cache_max_bytes: _Optional[int] = ..., cache_bytes: _Optional[int] = ..., summary_styles: _Optional[_Iterable[str]] = ..., default_summary_style: _Optional[str] = ..., default_target_language: _Optional[str] = ..., desk_enabled: _Optional[bool] = ..., database: _Optional[str] = ..., max_glossary_entries: _Optional[int] = ..., max_glossary_term_chars: _Optional[int] = ..., max_glossary_file_bytes: _Optional[int] = ..., max_memory_text_chars: _Optional[int] = ..., max_tmx_bytes: _Optional[int] = ..., max_tmx_units: _Optional[int] = ..., max_search_results: _Optional[int] = ..., memory_min_similarity: _Optional[float] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models", "server")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    SERVER_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    server: ServerInfo
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ..., server: _Optional[_Union[ServerInfo, _Mapping]] = ...) -> None: ...

class Glossary(_message.Message):
    __slots__ = ("id", "name", "source_language", "target_language", "entries", "entry_count", "create_time", "update_time")
    class EntriesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TARGET_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    ENTRY_COUNT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    source_language: str
    target_language: str
    entries: _containers.ScalarMap[str, str]
    entry_count: int
    create_time: str
    update_time: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., source_language: _Optional[str] = ..., target_language: _Optional[str] = ..., entries: _Optional[_Mapping[str, str]] = ..., entry_count: _Optional[int] = ..., create_time: _Optional[str] = ..., update_time: _Optional[str] = ...) -> None: ...

class CreateGlossaryRequest(_message.Message):
    __slots__ = ("name", "source_language", "target_language", "entries", "file", "file_media_type")
    class EntriesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TARGET_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    FILE_MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    source_language: str
    target_language: str
    entries: _containers.ScalarMap[str, str]
    file: bytes
    file_media_type: str
    def __init__(self, name: _Optional[str] = ..., source_language: _Optional[str] = ..., target_language: _Optional[str] = ..., entries: _Optional[_Mapping[str, str]] = ..., file: _Optional[bytes] = ..., file_media_type: _Optional[str] = ...) -> None: ...

class ListGlossariesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListGlossariesResponse(_message.Message):
    __slots__ = ("glossaries",)
    GLOSSARIES_FIELD_NUMBER: _ClassVar[int]
    glossaries: _containers.RepeatedCompositeFieldContainer[Glossary]
    def __init__(self, glossaries: _Optional[_Iterable[_Union[Glossary, _Mapping]]] = ...) -> None: ...

class GetGlossaryRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class UpdateGlossaryRequest(_message.Message):
    __slots__ = ("id", "name", "replace_entries", "entries", "file", "file_media_type")
    class EntriesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REPLACE_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    FILE_MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    replace_entries: bool
    entries: _containers.ScalarMap[str, str]
    file: bytes
    file_media_type: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., replace_entries: _Optional[bool] = ..., entries: _Optional[_Mapping[str, str]] = ..., file: _Optional[bytes] = ..., file_media_type: _Optional[str] = ...) -> None: ...

class DeleteGlossaryRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteGlossaryResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MemoryEntry(_message.Message):
    __slots__ = ("id", "memory", "source", "translation", "source_language", "target_language", "note", "approver", "create_time", "update_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TRANSLATION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TARGET_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    APPROVER_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: int
    memory: str
    source: str
    translation: str
    source_language: str
    target_language: str
    note: str
    approver: str
    create_time: str
    update_time: str
    def __init__(self, id: _Optional[int] = ..., memory: _Optional[str] = ..., source: _Optional[str] = ..., translation: _Optional[str] = ..., source_language: _Optional[str] = ..., target_language: _Optional[str] = ..., note: _Optional[str] = ..., approver: _Optional[str] = ..., create_time: _Optional[str] = ..., update_time: _Optional[str] = ...) -> None: ...

class MemoryMatch(_message.Message):
    __slots__ = ("entry_id", "similarity", "source", "translation", "approve_time", "approver")
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TRANSLATION_FIELD_NUMBER: _ClassVar[int]
    APPROVE_TIME_FIELD_NUMBER: _ClassVar[int]
    APPROVER_FIELD_NUMBER: _ClassVar[int]
    entry_id: int
    similarity: float
    source: str
    translation: str
    approve_time: str
    approver: str
    def __init__(self, entry_id: _Optional[int] = ..., similarity: _Optional[float] = ..., source: _Optional[str] = ..., translation: _Optional[str] = ..., approve_time: _Optional[str] = ..., approver: _Optional[str] = ...) -> None: ...

class SaveTranslationRequest(_message.Message):
    __slots__ = ("memory", "source", "translation", "source_language", "target_language", "note", "approver")
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TRANSLATION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TARGET_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    APPROVER_FIELD_NUMBER: _ClassVar[int]
    memory: str
    source: str
    translation: str
    source_language: str
    target_language: str
    note: str
    approver: str
    def __init__(self, memory: _Optional[str] = ..., source: _Optional[str] = ..., translation: _Optional[str] = ..., source_language: _Optional[str] = ..., target_language: _Optional[str] = ..., note: _Optional[str] = ..., approver: _Optional[str] = ...) -> None: ...

class SearchMemoryRequest(_message.Message):
    __slots__ = ("memory", "text", "min_similarity", "limit", "source_language", "target_language")
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    MIN_SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TARGET_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    memory: str
    text: str
    min_similarity: float
    limit: int
    source_language: str
    target_language: str
    def __init__(self, memory: _Optional[str] = ..., text: _Optional[str] = ..., min_similarity: _Optional[float] = ..., limit: _Optional[int] = ..., source_language: _Optional[str] = ..., target_language: _Optional[str] = ...) -> None: ...

class SearchMemoryResponse(_message.Message):
    __slots__ = ("matches", "entries")
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    matches: _containers.RepeatedCompositeFieldContainer[MemoryMatch]
    entries: _containers.RepeatedCompositeFieldContainer[MemoryEntry]
    def __init__(self, matches: _Optional[_Iterable[_Union[MemoryMatch, _Mapping]]] = ..., entries: _Optional[_Iterable[_Union[MemoryEntry, _Mapping]]] = ...) -> None: ...

class DeleteMemoryEntryRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    def __init__(self, id: _Optional[int] = ...) -> None: ...

class DeleteMemoryEntryResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListMemoriesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MemorySummary(_message.Message):
    __slots__ = ("name", "entry_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENTRY_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    entry_count: int
    def __init__(self, name: _Optional[str] = ..., entry_count: _Optional[int] = ...) -> None: ...

class ListMemoriesResponse(_message.Message):
    __slots__ = ("memories",)
    MEMORIES_FIELD_NUMBER: _ClassVar[int]
    memories: _containers.RepeatedCompositeFieldContainer[MemorySummary]
    def __init__(self, memories: _Optional[_Iterable[_Union[MemorySummary, _Mapping]]] = ...) -> None: ...

class ImportMemoryRequest(_message.Message):
    __slots__ = ("memory", "tmx", "source_language", "target_language")
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    TMX_FIELD_NUMBER: _ClassVar[int]
    SOURCE_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TARGET_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    memory: str
    tmx: bytes
    source_language: str
    target_language: str
    def __init__(self, memory: _Optional[str] = ..., tmx: _Optional[bytes] = ..., source_language: _Optional[str] = ..., target_language: _Optional[str] = ...) -> None: ...

class ImportMemoryResponse(_message.Message):
    __slots__ = ("units", "saved")
    UNITS_FIELD_NUMBER: _ClassVar[int]
    SAVED_FIELD_NUMBER: _ClassVar[int]
    units: int
    saved: int
    def __init__(self, units: _Optional[int] = ..., saved: _Optional[int] = ...) -> None: ...

class ExportMemoryRequest(_message.Message):
    __slots__ = ("memory",)
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    memory: str
    def __init__(self, memory: _Optional[str] = ...) -> None: ...

class ExportMemoryChunk(_message.Message):
    __slots__ = ("tmx",)
    TMX_FIELD_NUMBER: _ClassVar[int]
    tmx: bytes
    def __init__(self, tmx: _Optional[bytes] = ...) -> None: ...

class GetUsageRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class KeyUsage(_message.Message):
    __slots__ = ("key_name", "scopes", "characters_today", "requests_today", "characters_this_month", "requests_this_month", "characters_per_day", "characters_per_month", "requests_per_minute", "day_resets_at", "month_resets_at")
    KEY_NAME_FIELD_NUMBER: _ClassVar[int]
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    CHARACTERS_TODAY_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_TODAY_FIELD_NUMBER: _ClassVar[int]
    CHARACTERS_THIS_MONTH_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_THIS_MONTH_FIELD_NUMBER: _ClassVar[int]
    CHARACTERS_PER_DAY_FIELD_NUMBER: _ClassVar[int]
    CHARACTERS_PER_MONTH_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    DAY_RESETS_AT_FIELD_NUMBER: _ClassVar[int]
    MONTH_RESETS_AT_FIELD_NUMBER: _ClassVar[int]
    key_name: str
    scopes: _containers.RepeatedScalarFieldContainer[str]
    characters_today: int
    requests_today: int
    characters_this_month: int
    requests_this_month: int
    characters_per_day: int
    characters_per_month: int
    requests_per_minute: int
    day_resets_at: str
    month_resets_at: str
    def __init__(self, key_name: _Optional[str] = ..., scopes: _Optional[_Iterable[str]] = ..., characters_today: _Optional[int] = ..., requests_today: _Optional[int] = ..., characters_this_month: _Optional[int] = ..., requests_this_month: _Optional[int] = ..., characters_per_day: _Optional[int] = ..., characters_per_month: _Optional[int] = ..., requests_per_minute: _Optional[int] = ..., day_resets_at: _Optional[str] = ..., month_resets_at: _Optional[str] = ...) -> None: ...

class ListAuditRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("id", "time", "actor", "action", "subject", "detail")
    ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    id: int
    time: str
    actor: str
    action: str
    subject: str
    detail: str
    def __init__(self, id: _Optional[int] = ..., time: _Optional[str] = ..., actor: _Optional[str] = ..., action: _Optional[str] = ..., subject: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class ListAuditResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
