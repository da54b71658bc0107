"""Time the segmenter on adversarial 200k-character texts.

    python scripts/time_segmentation.py                       # a stand-in word counter
    python scripts/time_segmentation.py --tokenizer DIR       # a real tokenizer (e.g. tiny models' marian-ar-en)

Prints CPU seconds per pattern at 20k and 200k characters and their ratio
(about 10 for linear work, about 100 for quadratic).
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable

from tarjama_server.text.segmentation import segment

PATTERNS = {
    "a.": "a.",
    "U.S.": "U.S.",
    "ا.": "ا.",
    "a. (spaced)": "a. ",
    "quotes": '"."',
    "digits": "1.2",
    "dot run": ".",
    "one word": "x",
    "words, no stop": "كلمة ",
    "short sentences": "نعم. ",
    "line breaks": "ا\r\n",
}


def cpu_seconds(function: Callable[[], object]) -> float:
    started = time.process_time()
    function()
    return time.process_time() - started


def token_counter(tokenizer_dir: str | None, stand_in: Callable[[str], int]) -> Callable[[str], int]:
    """Counts tokens with the tokenizer of the model directory ``tokenizer_dir``, or ``stand_in`` without one."""
    if not tokenizer_dir:
        return stand_in
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)

    def count(text: str) -> int:
        return len(tokenizer(text)["input_ids"])

    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokenizer", help="a model directory whose tokenizer counts tokens")
    parser.add_argument("--max-tokens", type=int, default=256)
    args = parser.parse_args()
    count = token_counter(args.tokenizer, lambda text: len(text.split()) + 1)

    print("| pattern | segments (200k) | CPU s, 20k | CPU s, 200k | ratio |\n|---|---|---|---|---|")
    for name, unit in PATTERNS.items():
        small = (unit * (20_000 // len(unit) + 1))[:20_000]
        large = (unit * (200_000 // len(unit) + 1))[:200_000]
        small_seconds = cpu_seconds(functools.partial(segment, small, count, args.max_tokens))
        large_seconds = cpu_seconds(functools.partial(segment, large, count, args.max_tokens))
        spans = segment(large, count, args.max_tokens)
        ratio = large_seconds / max(small_seconds, 1e-6)
        print(f"| `{name}` | {len(spans)} | {small_seconds:.3f} | {large_seconds:.3f} | {ratio:.1f} |")


if __name__ == "__main__":
    main()
