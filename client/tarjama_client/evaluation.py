"""Translation quality against references, with sacreBLEU (BLEU and chrF, corpus and per sentence).

Two layouts of a test set are understood:

* **parallel lines**: the source and the reference have the same number of non-empty
  lines; each source line is translated as its own text and scored against its line;
* **a document**: any other source is translated as one text, and the server's
  segments are scored against the reference's lines when their counts match (the seed
  article: 20 segments, 20 reference lines); otherwise only the whole document is scored.

sacreBLEU is an optional extra: ``pip install 'tarjama[eval]'``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .types import TranslateResult

# Texts per Translate request in the parallel-lines layout (the server's default limit is 64).
_TEXTS_PER_REQUEST = 32


class Translating(Protocol):
    def translate(self, texts: str | Sequence[str], *, source_language: str = "") -> TranslateResult: ...


@dataclass(frozen=True)
class SentenceScore:
    source: str
    hypothesis: str
    reference: str
    bleu: float
    chrf: float


@dataclass(frozen=True)
class EvaluationReport:
    layout: str
    bleu: float
    chrf: float
    model: str
    sentences: list[SentenceScore] = field(default_factory=list)

    @property
    def untrained(self) -> bool:
        return "UNTRAINED" in self.model


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _sacrebleu() -> Any:
    try:
        import sacrebleu
    except ImportError:
        raise RuntimeError("scoring needs sacreBLEU: pip install 'tarjama[eval]' (or pip install sacrebleu)") from None
    return sacrebleu


def score(
    sources: Sequence[str], hypotheses: Sequence[str], references: Sequence[str]
) -> tuple[float, float, list[SentenceScore]]:
    """Corpus BLEU and chrF, and each sentence's, of aligned hypotheses and references."""
    sacrebleu = _sacrebleu()
    sentences = [
        SentenceScore(
            source=source,
            hypothesis=hypothesis,
            reference=reference,
            bleu=sacrebleu.sentence_bleu(hypothesis, [reference]).score,
            chrf=sacrebleu.sentence_chrf(hypothesis, [reference]).score,
        )
        for source, hypothesis, reference in zip(sources, hypotheses, references, strict=True)
    ]
    bleu = sacrebleu.corpus_bleu(list(hypotheses), [list(references)]).score
    chrf = sacrebleu.corpus_chrf(list(hypotheses), [list(references)]).score
    return bleu, chrf, sentences


def evaluate(client: Translating, source: str, reference: str, source_language: str = "") -> EvaluationReport:
    """Translate ``source`` with ``client`` and score it against ``reference``."""
    _sacrebleu()  # fail before translating anything
    source_lines, reference_lines = _lines(source), _lines(reference)
    if not source_lines or not reference_lines:
        raise ValueError("the source and the reference must both hold text")
    if len(source_lines) == len(reference_lines) and len(source_lines) > 1:
        hypotheses: list[str] = []
        model = ""
        for start in range(0, len(source_lines), _TEXTS_PER_REQUEST):
            result = client.translate(source_lines[start : start + _TEXTS_PER_REQUEST], source_language=source_language)
            hypotheses += [translation.text for translation in result.translations]
            model = result.model
        bleu, chrf, sentences = score(source_lines, hypotheses, reference_lines)
        return EvaluationReport(f"parallel lines ({len(source_lines)})", bleu, chrf, model, sentences)
    result = client.translate(source, source_language=source_language)
    (translation,) = result.translations
    segments = translation.segments
    if len(segments) == len(reference_lines):
        bleu, chrf, sentences = score([s.source for s in segments], [s.translation for s in segments], reference_lines)
        layout = f"document ({len(segments)} segments aligned with {len(reference_lines)} reference lines)"
        return EvaluationReport(layout, bleu, chrf, result.model, sentences)
    bleu, chrf, _ = score([source], [translation.text], [" ".join(reference_lines)])
    layout = (
        f"document ({len(segments)} segments, {len(reference_lines)} reference lines: "
        "scored as one text, no per-sentence scores)"
    )
    return EvaluationReport(layout, bleu, chrf, result.model)
