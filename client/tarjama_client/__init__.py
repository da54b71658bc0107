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
    Alternative,
    BatchItem,
    BatchResult,
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

__all__ = [
    "AdaptiveConcurrency",
    "Alternative",
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
    "ServerInfo",
    "ServerUnavailableError",
    "SummarizeResult",
    "TarjamaClient",
    "TarjamaError",
    "Timings",
    "TranslateEvent",
    "TranslateResult",
    "Translation",
    "Usage",
]
