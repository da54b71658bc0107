"""Python client for the Tarjama translation and summarization service."""

from ._retry import RetryPolicy
from .aio import AsyncTarjamaClient
from .client import TarjamaClient
from .errors import (
    AuthenticationError,
    DeadlineExceededError,
    InvalidRequestError,
    OverloadedError,
    ServerUnavailableError,
    TarjamaError,
)
from .types import (
    DecodingOptions,
    ModelInfo,
    Segment,
    SummarizeResult,
    TranslateEvent,
    TranslateResult,
    Translation,
    Usage,
)

__all__ = [
    "AsyncTarjamaClient",
    "AuthenticationError",
    "DeadlineExceededError",
    "DecodingOptions",
    "InvalidRequestError",
    "ModelInfo",
    "OverloadedError",
    "RetryPolicy",
    "Segment",
    "ServerUnavailableError",
    "SummarizeResult",
    "TarjamaClient",
    "TarjamaError",
    "TranslateEvent",
    "TranslateResult",
    "Translation",
    "Usage",
]
