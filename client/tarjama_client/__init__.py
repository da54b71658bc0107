"""Python client for the Tarjama translation and summarization service."""

from ._retry import RetryPolicy
from .aio import AsyncTarjamaClient
from .client import TarjamaClient
from .concurrency import AdaptiveConcurrency
from .errors import (
    AuthenticationError,
    DeadlineExceededError,
    InvalidRequestError,
    OverloadedError,
    ServerUnavailableError,
    TarjamaError,
)
from .types import (
    BatchItem,
    BatchResult,
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
    "AdaptiveConcurrency",
    "AsyncTarjamaClient",
    "AuthenticationError",
    "BatchItem",
    "BatchResult",
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
