"""tarjama-eval: sacreBLEU scores of a server's translations against references."""

from __future__ import annotations

import json

from tarjama_client.cli import eval_main
from tarjama_client.evaluation import evaluate
from tarjama_client.types import Segment, TranslateResult, Translation, Usage

from .helpers import SEED_ARTICLE, SEED_REFERENCE


class EchoingClient:
    """Translates each text to the answer the test wants, so the scores are known."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.requests: list[list[str]] = []

    def translate(self, texts, *, source_language: str = "") -> TranslateResult:
        texts = [texts] if isinstance(texts, str) else list(texts)
        self.requests.append(texts)
        translations = [
            Translation(
                text=self.answers[text],
                segments=[Segment(text, self.answers[text], 0, len(text), "")],
                detected_language="ar",
            )
            for text in texts
        ]
        return TranslateResult(translations=translations, model="echo", usage=Usage(0, 0))


def test_perfect_translations_score_100_and_wrong_ones_less() -> None:
    sources = [f"جملة رقم {i}" for i in range(40)]
    references = [f"The sentence number {i} is here today." for i in range(40)]
    perfect = EchoingClient(dict(zip(sources, references, strict=True)))
    report = evaluate(perfect, "\n".join(sources), "\n".join(references))
    assert report.layout == "parallel lines (40)"
    assert round(report.bleu) == 100 and round(report.chrf) == 100
    assert [len(r) for r in perfect.requests] == [32, 8]  # batched, in order
    assert all(round(s.bleu) == 100 for s in report.sentences)
    wrong = EchoingClient({s: "Something else entirely." for s in sources})
    assert evaluate(wrong, "\n".join(sources), "\n".join(references)).chrf < 30


def test_seed_article_is_scored_per_segment_against_the_server(server, capsys) -> None:
    code = eval_main([str(SEED_ARTICLE), str(SEED_REFERENCE), "--server", server.address, "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["layout"].startswith("document (20 segments aligned with 20 reference lines)")
    assert len(report["sentences"]) == 20
    assert all(0 <= s["chrf"] <= 100 and 0 <= s["bleu"] <= 100 for s in report["sentences"])
    assert "UNTRAINED" in report["model"]  # tiny models: structure only, the scores mean nothing


def test_counts_that_do_not_align_are_scored_as_one_text(server) -> None:
    from tarjama_client import TarjamaClient

    with TarjamaClient(server.address, timeout=120) as client:
        report = evaluate(client, "جملة أولى. جملة ثانية.", "One line only.\nAnd a second.\nAnd a third.")
    assert "scored as one text" in report.layout and report.sentences == []
