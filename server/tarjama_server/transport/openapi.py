"""What the OpenAPI document (``web/openapi.json``, made by ``scripts/generate_openapi.py``) says a
request must be, from the limits the server enforces (``core.limits.RequestLimits``, the values
``ServerInfo`` reports): required fields, sizes, ranges and enums. The generator writes them with
the default limits; the server serves ``/openapi.json`` with its own (``--max-texts``, the
models' output caps), so the document a client reads is the one its server checks against."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from ..core.limits import RequestLimits
from ..engines.base import MAX_OUTPUT_TOKENS
from ..text.glossary import MAX_TERM_CHARS, MAX_TERMS

# A text must hold a non-space character (``str.strip``); a pattern matches anywhere in the string.
SOME_TEXT = r"\S"
NO_SURROUNDING_SPACE = r"^\S([\s\S]*\S)?$"
MIME_TYPES = ["", "text/plain", "text/html"]


def _zero_or(low: int, high: int, default: str) -> dict[str, Any]:
    """An int32 that is 0 (``default``) or between ``low`` and ``high``."""
    if low <= 1:
        return {"minimum": 0, "maximum": high}
    return {
        "anyOf": [
            {"type": "integer", "const": 0, "description": default},
            {"type": "integer", "minimum": low, "maximum": high},
        ]
    }


@dataclass(frozen=True)
class Languages:
    """The languages the loaded models take (``ModelInfo``); the defaults are the settings' defaults."""

    translation_sources: tuple[str, ...] = ("ar",)
    translation_targets: tuple[str, ...] = ("en",)
    summarization: tuple[str, ...] = ("ar", "en")


def _codes(*codes: str) -> dict[str, Any]:
    """A language field: empty (the server's choice) or one of ``codes``. The server also reads other
    spellings of them ("AR", "ara", "ar-SA"); the document names the canonical ones."""
    return {"enum": ["", *dict.fromkeys(codes)]}


def request_rules(
    limits: RequestLimits,
    *,
    max_new_tokens: int = MAX_OUTPUT_TOKENS,
    max_summary_tokens: int = MAX_OUTPUT_TOKENS,
    languages: Languages = Languages(),
    desk: bool = True,
) -> dict[str, tuple[list[str], dict[str, dict[str, Any]]]]:
    """Per request schema: its required fields (JSON names) and, per field, the keywords to add.
    ``desk``: whether the server has the desk; without it a stored glossary or memory is refused."""
    text = {"minLength": 1, "maxLength": limits.max_text_chars, "pattern": SOME_TEXT}
    targets = languages.translation_targets
    beams = _zero_or(1, limits.max_beams, "the server's default")
    low, high = limits.summary_tokens
    return {
        "TranslateRequest": (
            ["texts"],
            {
                "texts": {"minItems": 1, "maxItems": limits.max_texts, "items": text},
                "alternatives": {"minimum": 0, "maximum": limits.max_alternatives},
                "mimeType": {"enum": MIME_TYPES},
                "glossary": {
                    "maxProperties": MAX_TERMS,
                    "propertyNames": {"minLength": 1, "maxLength": MAX_TERM_CHARS, "pattern": NO_SURROUNDING_SPACE},
                    "additionalProperties": {"minLength": 1, "maxLength": MAX_TERM_CHARS, "pattern": SOME_TEXT},
                },
                # A text already in the target language passes through unchanged.
                "sourceLanguage": _codes(*languages.translation_sources, *targets),
                "targetLanguage": _codes(*targets),
                "memoryMinSimilarity": {"minimum": 0, "maximum": 1},
                # FAILED_PRECONDITION on a server without the desk (--database-url none).
                **({} if desk else {"glossaryId": {"maxLength": 0}, "memory": {"maxLength": 0}}),
            },
        ),
        "DecodingOptions": (
            [],
            {"numBeams": beams, "maxNewTokens": _zero_or(1, max_new_tokens, "the model's cap")},
        ),
        "SummarizeRequest": (
            ["text"],
            {
                "text": text,
                "numBeams": beams,
                "maxSummaryTokens": _zero_or(low, min(high, max_summary_tokens), "the style's length"),
                "mimeType": {"enum": MIME_TYPES},
                "sourceLanguage": _codes(*languages.summarization),
                "summaryLanguage": _codes(*languages.summarization),
            },
        ),
    }


def constrained(
    document: dict[str, Any],
    limits: RequestLimits,
    *,
    max_new_tokens: int = MAX_OUTPUT_TOKENS,
    max_summary_tokens: int = MAX_OUTPUT_TOKENS,
    languages: Languages = Languages(),
    desk: bool = True,
) -> dict[str, Any]:
    """``document`` with the request schemas' required fields and keywords set from ``limits``."""
    document = copy.deepcopy(document)
    schemas = document["components"]["schemas"]
    rules = request_rules(
        limits, max_new_tokens=max_new_tokens, max_summary_tokens=max_summary_tokens, languages=languages, desk=desk
    )
    for name, (required, fields) in rules.items():
        schema = schemas[name]
        if required:
            schema["required"] = required
        for field, keywords in fields.items():
            target = schema["properties"][field]
            for key, value in keywords.items():
                if key in ("items", "additionalProperties") and isinstance(target.get(key), dict):
                    target[key] = {**target[key], **value}
                else:
                    target[key] = value
    return document
