"""The loaded pipelines, as a transport serves them, and what the server tells clients about itself."""

from __future__ import annotations

from dataclasses import dataclass

from .. import __version__
from ..engines.base import ModelInfo
from ..errors import FeatureDisabledError
from .limits import RequestLimits
from .recipes import DEFAULT_STYLE, STYLES
from .summarization import Summarizer
from .translation import Translator


@dataclass(frozen=True, kw_only=True)
class ServerInfo:
    """What a client must respect and what the server runs (``ListModels``)."""

    version: str
    engines: tuple[str, ...]
    limits: RequestLimits
    max_queue_seconds: float
    cache_max_bytes: int
    cache_bytes: int
    # The facts a client (the page, the CLI) reads rather than repeats: from recipes and the model.
    summary_styles: tuple[str, ...] = tuple(STYLES)
    default_summary_style: str = DEFAULT_STYLE
    default_target_language: str = ""


@dataclass(frozen=True)
class Pipelines:
    translator: Translator
    summarizer: Summarizer | None

    @property
    def infos(self) -> list[ModelInfo]:
        return [self.translator.info] + ([self.summarizer.info] if self.summarizer else [])

    def server_info(self) -> ServerInfo:
        cache = self.translator.cache  # one cache serves both pipelines
        return ServerInfo(
            version=__version__,
            engines=tuple(dict.fromkeys(info.engine for info in self.infos)),
            limits=self.translator.limits,
            max_queue_seconds=self.translator.scheduler.limits.max_queue_seconds,
            cache_max_bytes=cache.max_bytes,
            cache_bytes=cache.bytes,
            default_target_language=self.translator.default_target_language,
        )

    def require_summarizer(self) -> Summarizer:
        if self.summarizer is None:
            raise FeatureDisabledError(
                "summarization is disabled on this server (started with --summarization-model none)"
            )
        return self.summarizer
