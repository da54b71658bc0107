"""The loaded pipelines, as a transport serves them."""

from __future__ import annotations

from dataclasses import dataclass

from ..engines.base import ModelInfo
from ..errors import FeatureDisabledError
from .summarization import Summarizer
from .translation import Translator


@dataclass(frozen=True)
class Pipelines:
    translator: Translator
    summarizer: Summarizer | None

    @property
    def infos(self) -> list[ModelInfo]:
        return [self.translator.info] + ([self.summarizer.info] if self.summarizer else [])

    def require_summarizer(self) -> Summarizer:
        if self.summarizer is None:
            raise FeatureDisabledError(
                "summarization is disabled on this server (started with --summarization-model none)"
            )
        return self.summarizer
