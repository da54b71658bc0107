"""Time HTML planning and rebuilding on hostile documents with 1,000 and 10,000 marks.

    python scripts/time_markup.py                       # a stand-in token counter
    python scripts/time_markup.py --tokenizer DIR       # a real tokenizer (e.g. tiny models' marian-ar-en)

Each document is planned as the server plans it (parse, blocks, phrases, attributes,
language identification, token counts) and rebuilt from stand-in translations. Prints CPU
seconds at both sizes and their ratio (about 10 for linear work, 100 for quadratic, 1,000
for cubic), then the CPU time to plan a largest text (``--max-text-chars``) of Latin-only
HTML, whose text all passes through.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from tarjama_server.core.planning import Planner, SpanTranslation, rebuild_document
from tarjama_server.engines.base import ModelInfo, Task
from tarjama_server.text.languages import warm_up
from time_segmentation import token_counter  # beside this file

WORD = "كلمة"
SHAPES: dict[str, Callable[[int], str]] = {
    "`<b>كلمة</b> ` in one `<p>`": lambda n: "<p>" + f"<b>{WORD}</b> " * (n // 2) + "</p>",
    "nested `<b>`": lambda n: "<p>" + "<b>" * (n // 2) + WORD + "</b>" * (n // 2) + "</p>",
    "nested `<span>`, text at each level": lambda n: (
        "<p>" + f"<span>{WORD} " * (n // 2) + "</span>" * (n // 2) + "</p>"
    ),
    "`<a title=…>` (attributes)": lambda n: "<p>" + f"<a title='{WORD}'>{WORD}</a> " * (n // 2) + "</p>",
    "`<i>` left open, stray `</u>`": lambda n: "<p>" + f"<i>{WORD} " * (n // 2) + f"</u>{WORD} " * (n // 2) + "</p>",
    "`<p>` blocks": lambda n: f"<p>{WORD}</p>" * n,
}


def plan_and_rebuild(planner: Planner, source: str) -> str:
    (plan,) = planner.plan([source], source_language="", target_language="en", html=True)
    translated = [
        SpanTranslation(planned, f"w{position} x{position}" if planned.model_input else planned.span.text, " ")
        for position, planned in enumerate(plan.spans)
    ]
    return rebuild_document(plan, translated)


def cpu_seconds(planner: Planner, source: str, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        plan_and_rebuild(planner, source)
        best = min(best, time.process_time() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokenizer", help="a model directory whose tokenizer counts tokens")
    parser.add_argument("--max-text-chars", type=int, default=200_000)
    args = parser.parse_args()
    count = token_counter(args.tokenizer, lambda text: len(text) // 4 + 1)
    info = ModelInfo("stand-in", Task.TRANSLATION, "local", ("ar",), ("en",), "none", "fake", "cpu", 512)
    planner = Planner(info, count, max_segment_tokens=256)
    warm_up()
    plan_and_rebuild(planner, SHAPES["nested `<b>`"](100))
    print("| document | CPU s, 1,000 marks | CPU s, 10,000 marks | ratio |\n|---|---|---|---|")
    for name, shape in SHAPES.items():
        small, large = cpu_seconds(planner, shape(1_000)), cpu_seconds(planner, shape(10_000))
        print(f"| {name} | {small:.3f} | {large:.3f} | {large / max(small, 1e-6):.1f} |")
    unit = "<p>The minister <b>said</b> on <a href='x' title='a link'>Monday</a>.</p>\n"
    latin = (unit * (args.max_text_chars // len(unit) + 1))[: args.max_text_chars]
    seconds = cpu_seconds(planner, latin, repeat=1)
    print(f"\nLatin-only HTML, {len(latin):,} characters: planned in {seconds:.2f} s of CPU")


if __name__ == "__main__":
    main()
