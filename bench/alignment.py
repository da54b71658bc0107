"""Word alignment: what it costs and how right it is (issue 25). A benchmark: it prints figures
and checks nothing.

    python bench/alignment.py --models .bench-models            # everything
    python bench/alignment.py --models .bench-models --skip-speed

* Cost: output tokens a second of each engine on one batch of 16 seed segments, beam 4, with and
  without alignment and word scores (``GenerationParams.alignment``), alternating, on the
  random-weight model of opus-mt-ar-en's exact architecture (``bench/perf.py``'s), so every
  segment decodes ``--max-new-tokens`` tokens. Per wall-clock second and per CPU second.
* Quality, on the tiny Marian trained on the synthetic language pair (``loading/synthetic.py``),
  whose right answer is known, on both engines: the alignment error rate against the known
  alignment (on sentences translated exactly); tag placement accuracy over 200 generated HTML
  sentences (an ``<a>`` around a random noun phrase, translated through the service's core with
  ``alignment`` on; right when the link holds exactly the English words of that phrase); and the
  precision and recall of ``OMISSION_SUSPECTED`` over 200 sentences, half of them holding the
  clause the model learned to drop.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import random
import re
import statistics
import sys
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from perf import alternating_rates, build_models, seed_segments, translation_engine  # noqa: E402  (beside this file)

ENGINES = ("ctranslate2", "transformers")


def speed(marian: Path, converted: Path, max_new_tokens: int, rounds: int) -> dict[str, Any]:
    from tarjama_server.engines.base import GenerationParams

    plain = GenerationParams(num_beams=4, max_new_tokens=max_new_tokens)
    aligned = dataclasses.replace(plain, alignment=True)
    results: dict[str, Any] = {}
    for name in ENGINES:
        engine = translation_engine(marian, name, converted)
        batch = seed_segments(engine)[:16]
        engine.generate(batch[:2], aligned)  # warm-up
        rates, cpu_rates, _ = alternating_rates(engine, batch, {"without": plain, "with": aligned}, rounds)
        with_, without = statistics.median(rates["with"]), statistics.median(rates["without"])
        cpu_with, cpu_without = statistics.median(cpu_rates["with"]), statistics.median(cpu_rates["without"])
        results[name] = {
            "with_alignment_tok_s": with_,
            "without_tok_s": without,
            "slowdown": 1 - with_ / without,
            "with_alignment_tok_per_cpu_s": cpu_with,
            "without_tok_per_cpu_s": cpu_without,
            "cpu_slowdown": 1 - cpu_with / cpu_without,
            "samples": rates,
        }
        print(f"speed {name}: {json.dumps(results[name], default=lambda x: round(x, 3))}", flush=True)
        del engine
        gc.collect()
    return results


def quality(model: Path, converted: Path, count: int) -> dict[str, Any]:
    from tarjama_server.engines.base import GenerationParams, Task
    from tarjama_server.loading import synthetic
    from tarjama_server.loading.hub import resolve_model
    from tarjama_server.loading.loader import load_engine
    from tarjama_server.text import alignment as words

    params = GenerationParams(num_beams=2, max_new_tokens=48, alignment=True)
    results: dict[str, Any] = {}
    for name in ENGINES:
        engine = load_engine(
            resolve_model(str(model)), Task.TRANSLATION, ("ar",), ("en",), "cpu",
            engine=name, converted_dir=str(converted), threads=1,
        )  # fmt: skip
        pairs = list(synthetic.evaluation_pairs(count, seed=2025))
        generations = engine.generate([pair.source for pair in pairs], params)
        found_links = gold_links = both = exact = 0
        for pair, generation in zip(pairs, generations, strict=True):
            if generation.text != pair.target or generation.tokens is None:
                continue
            exact += 1
            tokens = generation.tokens
            found = words.word_alignment(
                pair.source, generation.text, tokens.source_spans, tokens.target_spans, tokens.attention,
                tokens.log_probs,
            )  # fmt: skip
            links = set(found.links)
            found_links, gold_links, both = (
                found_links + len(links),
                gold_links + len(pair.alignment),
                both + len(links & pair.alignment),
            )
        # Omissions: half the sentences hold the dropped clause.
        mixed = [
            *synthetic.evaluation_pairs(count // 2, seed=2026, dropped=True),
            *synthetic.evaluation_pairs(count - count // 2, seed=2027, dropped=False),
        ]
        outputs = engine.generate([pair.source for pair in mixed], params)
        true_pos = false_pos = false_neg = 0
        for pair, generation in zip(mixed, outputs, strict=True):
            assert generation.tokens is not None
            tokens = generation.tokens
            found = words.word_alignment(
                pair.source, generation.text, tokens.source_spans, tokens.target_spans, tokens.attention,
                tokens.log_probs,
            )  # fmt: skip
            flagged = bool(words.omissions(found, pair.source))
            true_pos += flagged and bool(pair.dropped)
            false_pos += flagged and not pair.dropped
            false_neg += (not flagged) and bool(pair.dropped)
        results[name] = {
            "sentences": count,
            "translated_exactly": exact,
            "aer": 1 - 2 * both / (found_links + gold_links) if found_links + gold_links else None,
            "precision": both / found_links if found_links else None,
            "recall": both / gold_links if gold_links else None,
            "omission_precision": true_pos / (true_pos + false_pos) if true_pos + false_pos else None,
            "omission_recall": true_pos / (true_pos + false_neg) if true_pos + false_neg else None,
            "tag_placement": tag_placement(model, name, converted, count),
        }
        print(f"quality {name}: {json.dumps(results[name], default=lambda x: round(x, 4))}", flush=True)
    return results


_LINK = re.compile(r"<a href=\"#x\">(.*?)</a>")


def tag_placement(model: Path, engine_name: str, converted: Path, count: int) -> dict[str, Any]:
    """Each sentence with an <a> around one noun phrase (its noun, or noun and adjective), sent as
    HTML with ``alignment`` on to a real server over JSON; right when the link in the output holds
    exactly that phrase's English words (the inserted "the" may sit either side)."""
    from load import free_port, start_server, stop_server
    from tarjama_server.loading import synthetic

    rng = random.Random(2028)
    cases = []
    for pair in synthetic.evaluation_pairs(count, seed=2029):
        words = pair.source_words
        noun = rng.choice([s for s, _ in pair.units if words[s] in synthetic.NOUNS])
        span = [noun, noun + 1] if noun + 1 < len(words) and words[noun + 1] in synthetic.ADJECTIVES else [noun]
        wrapped = [
            ('<a href="#x">' if i == span[0] else "") + word + ("</a>" if i == span[-1] else "")
            for i, word in enumerate(words)
        ]
        expected = [pair.target_words[t] for t in sorted(t for s, t in pair.alignment if s in span)]
        cases.append((f"<p>{' '.join(wrapped)}</p>", expected))
    http_port = free_port()
    flags = [
        "--translation-model", str(model), "--summarization-model", "none", "--translation-engine", engine_name,
        "--ctranslate2-dir", str(converted), "--device", "cpu", "--http-port", str(http_port),
        "--metrics-port", "0", "--assumed-tokens-per-second", "100", "--num-beams", "2",
    ]  # fmt: skip
    process, _ = start_server(flags, converted.parent / f"alignment-server-{engine_name}.log")
    try:
        body = json.dumps(
            {"texts": [html for html, _ in cases], "sourceLanguage": "ar", "mimeType": "text/html", "alignment": True}
        ).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{http_port}/tarjama.v1.TarjamaService/Translate",
            data=body,
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=3600) as reply:
            translations = json.loads(reply.read())["translations"]
    finally:
        stop_server(process)
    right = by_alignment = 0
    for translation, (_, expected) in zip(translations, cases, strict=True):
        match = _LINK.search(translation["text"])
        placed = [word for word in (match.group(1).split() if match else []) if word != synthetic.ARTICLE]
        right += placed == expected
        by_alignment += any(s.get("tagPlacement") == "TAG_PLACEMENT_ALIGNMENT" for s in translation["segments"])
    return {"sentences": len(cases), "accuracy": right / len(cases), "placed_by_alignment": by_alignment / len(cases)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, default=ROOT / ".bench-models")
    parser.add_argument("--max-new-tokens", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--sentences", type=int, default=200)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "alignment.json")
    args = parser.parse_args()
    import torch
    from tarjama_server.loading.synthetic import cached_synthetic_marian

    torch.set_num_threads(1)
    converted = args.models / "ctranslate2"
    results: dict[str, Any] = {}
    if not args.skip_quality:
        results["quality"] = quality(cached_synthetic_marian(ROOT / ".tiny-models"), converted, args.sentences)
    if not args.skip_speed:
        marian, _ = build_models(args.models, summarizer=False)
        results["speed"] = speed(marian, converted, args.max_new_tokens, args.rounds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
