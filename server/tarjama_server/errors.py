"""Errors raised by the core (pipelines, scheduler) and model loading. Each transport maps
them to its status codes in one table (gRPC: ``transport.status.STATUS_BY_ERROR``); the core
knows nothing of any transport."""

from __future__ import annotations


class TarjamaError(Exception):
    """Base class: the message is shown to the caller, so it says what to fix."""


class InvalidRequestError(TarjamaError):
    """The request cannot be served as sent (empty text, nonsense option...)."""


class UnsupportedLanguageError(InvalidRequestError):
    """No loaded model serves the asked language or language pair."""


class OverloadedError(TarjamaError):
    """The request could not finish in time; it was not accepted. Retry after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimitedError(OverloadedError):
    """The caller's key is over its rate (requests a minute): retry after ``retry_after`` seconds."""


class DeadlineExpiredError(TarjamaError):
    """The request's deadline passed before its work could run."""


class NotReadyError(TarjamaError):
    """Models are still loading (or the server is shutting down)."""


class EngineFault(NotReadyError):
    """A model call hung past the watchdog, or the inference thread died: this process can no
    longer serve that model. Calls in flight get it (UNAVAILABLE); the server then stops and
    exits non-zero, so its orchestrator restarts it."""


class ModelUnavailableError(TarjamaError):
    """A model could not be found or loaded at start-up."""


class FeatureDisabledError(TarjamaError):
    """The server was started without the model this call needs."""


class NotFoundError(TarjamaError):
    """The call names a stored thing (a glossary, a memory entry) the server does not hold."""


class StoreUnavailableError(NotReadyError):
    """The desk's database cannot be reached (or is busy past its timeout): retry later."""


class UnauthenticatedError(TarjamaError):
    """No key, or a key the server does not hold (unknown or revoked)."""


class PermissionDeniedError(TarjamaError):
    """The caller's key lacks the scope the call needs."""


class QuotaExhaustedError(TarjamaError):
    """The caller's key has used its characters for the day or month: no retry helps until it resets."""
