"""``tarjama-models``: fetch, check and build models for the server.

tarjama-models download                      # both default models into the HF cache
tarjama-models download Helsinki-NLP/opus-mt-ar-en --revision <commit>
tarjama-models download MODEL@REVISION MODEL@REVISION --convert   # pin each; convert for ctranslate2 too
tarjama-models verify                        # load from the cache offline and run one input
tarjama-models convert                       # convert both for the ctranslate2 engine (int8 on CPU)
tarjama-models build-tiny ./tiny-models      # UNTRAINED tiny models for offline testing
tarjama-models build-synthetic .tiny-models  # a tiny Marian TRAINED on a synthetic language (alignment tests)
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from ..engines.base import GenerationParams, Task
from ..errors import ModelUnavailableError
from ..settings import DEFAULT_SUMMARIZATION_MODEL, DEFAULT_TRANSLATION_MODEL

DEFAULT_MODELS = [DEFAULT_TRANSLATION_MODEL, DEFAULT_SUMMARIZATION_MODEL]
SEED_SOURCE = Path("seeds/000_72c42d5ea82af53c.txt")
SEED_TARGET = Path("seeds/000_72c42d5ea82af53c.reference.en.txt")
# Used to train the tiny tokenizers when the seed files are not at hand (e.g. in the image).
FALLBACK_SOURCE = (
    "أعلنت اللجنة الدولية للصليب الأحمر عن اكتمال عملية إجلاء من شرق حلب. "
    "وقال المتحدث باسم الأمم المتحدة للصحفيين في نيويورك إن عملية الإجلاء صادمة. "
    "وأصبحت مدينة حلب تحت سيطرة النظام السوري بعد خروج آخر دفعة من مقاتلي المعارضة."
)
FALLBACK_TARGET = (
    "The International Committee of the Red Cross announced the completion of an evacuation from eastern Aleppo. "
    "The United Nations spokesman told reporters in New York that the evacuation was harrowing. "
    "The city of Aleppo came under the control of the Syrian regime after the last opposition fighters left."
)
_PROBE = {
    Task.TRANSLATION: "أعلنت اللجنة الدولية للصليب الأحمر عن اكتمال عملية الإجلاء.",
    Task.SUMMARIZATION: FALLBACK_SOURCE,
}


def _task_of(ref: str) -> Task:
    lowered = ref.lower()
    return Task.SUMMARIZATION if "mt5" in lowered or "sum" in lowered else Task.TRANSLATION


def _split_revision(model: str, revision: str) -> tuple[str, str]:
    """``ID@REVISION`` → (ID, REVISION); a plain ID takes ``revision``. Paths with an @ stay whole."""
    ref, at, pinned = model.rpartition("@")
    if at and ref and "/" not in pinned and not Path(model).exists():
        return ref, pinned
    return model, revision


def _check(ref: str, revision: str, cache_dir: str, offline: bool) -> int:
    from .hub import resolve_model
    from .loader import load_engine

    task = _task_of(ref)
    flag = "--summarization-model" if task is Task.SUMMARIZATION else "--translation-model"
    resolved = resolve_model(ref, revision, cache_dir=cache_dir, offline=offline, flag=flag)
    print(f"{ref}: revision {resolved.revision}, licence {resolved.license}, at {resolved.directory}")
    if resolved.notice:
        print(f"  NOTE: {resolved.notice}")
    engine = load_engine(resolved, task, ("ar",), ("en",), "cpu")
    (output,) = engine.generate([_PROBE[task]], GenerationParams(num_beams=1, max_new_tokens=32))
    print(f"  loads and generates ({output.input_tokens} tokens in, {output.output_tokens} out): {output.text[:80]!r}")
    return 0


def _convert(ref: str, revision: str, cache_dir: str, compute_type: str, device: str, output_dir: str) -> None:
    from .conversion import convert_model, default_converted_dir, resolve_compute_type
    from .hub import resolve_model

    resolved = resolve_model(ref, revision, cache_dir=cache_dir, offline=True, flag=f"--{_task_of(ref).value}-model")
    compute = resolve_compute_type(compute_type, device)
    converted = convert_model(resolved, compute, Path(output_dir) if output_dir else default_converted_dir())
    print(f"{ref}: revision {resolved.revision}, CTranslate2 {compute} at {converted}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tarjama-models", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("download", "download models into the cache and check they load"),
        ("verify", "check cached models load and run, without network"),
        ("convert", "convert cached models for the ctranslate2 engine, ahead of the server's first start"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument(
            "models",
            nargs="*",
            default=DEFAULT_MODELS,
            help="hub ids or local dirs, each optionally ID@REVISION (default: both defaults)",
        )
        command.add_argument("--revision", default="", help="branch, tag or commit to pin (with one model)")
        command.add_argument("--cache-dir", default="", help="default: the Hugging Face cache (HF_HOME)")
        if name == "download":
            command.add_argument("--convert", action="store_true", help="also convert each for the ctranslate2 engine")
        if name in ("download", "convert"):
            command.add_argument("--compute-type", default="auto", help="auto (int8 on CPU, int8_float16 on CUDA)...")
            command.add_argument("--device", default="cpu", help="the device the server will run on: cpu or cuda")
            command.add_argument(
                "--output-dir",
                default="",
                help="default: $HF_HOME/tarjama-ctranslate2 (the server's --ctranslate2-dir)",
            )
    tiny = commands.add_parser("build-tiny", help="build tiny UNTRAINED models for offline tests and demos")
    tiny.add_argument("out_dir", type=Path)
    tiny.add_argument("--source-text", type=Path, help=f"Arabic training text (default: {SEED_SOURCE} if present)")
    tiny.add_argument("--target-text", type=Path, help=f"English training text (default: {SEED_TARGET} if present)")
    synthetic = commands.add_parser(
        "build-synthetic",
        help="train (seconds) or reuse the tiny Marian of the synthetic language pair, for word-alignment tests",
    )
    synthetic.add_argument("out_dir", type=Path, help="kept there as synthetic-<recipe key>/ (built once)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    if args.command == "build-synthetic":
        from .synthetic import cached_synthetic_marian

        print(f"tiny Marian trained on the synthetic language pair: {cached_synthetic_marian(args.out_dir)}")
        return 0

    if args.command == "build-tiny":
        from .tiny_models import build_tiny_models

        def training_text(given: Path | None, seed: Path, fallback: str) -> str:
            path = given or (seed if seed.is_file() else None)
            return path.read_text(encoding="utf-8") if path else fallback

        paths = build_tiny_models(
            args.out_dir,
            training_text(args.source_text, SEED_SOURCE, FALLBACK_SOURCE),
            training_text(args.target_text, SEED_TARGET, FALLBACK_TARGET),
        )
        print(
            f"UNTRAINED tiny models (random weights, for testing only):\n  translation:   {paths.translation}\n"
            f"  summarization: {paths.summarization}"
        )
        return 0

    if args.revision and len(args.models) != 1:
        parser.error("--revision pins one model: name exactly one (or write each as ID@REVISION)")
    failed = 0
    # One process for every model: the heavy imports are paid once (the Docker build runs this).
    for model in args.models:
        ref, revision = _split_revision(model, args.revision)
        try:
            if args.command != "convert":
                _check(ref, revision, args.cache_dir, offline=args.command == "verify")
            if args.command == "convert" or (args.command == "download" and args.convert):
                _convert(ref, revision, args.cache_dir, args.compute_type, args.device, args.output_dir)
        except ModelUnavailableError as error:
            print(f"{ref}: {error}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
