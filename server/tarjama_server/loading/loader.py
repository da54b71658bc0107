"""Loading a resolved model into an inference engine: device choice, torch threads, the
``transformers`` or ``ctranslate2`` engine, the model's window and output limits, and the
log lines an operator reads at start-up."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..engines.base import MAX_OUTPUT_TOKENS, ModelInfo, Seq2SeqEngine, Task
from ..engines.ctranslate2_engine import CTranslate2Engine
from ..engines.transformers_engine import TransformersEngine
from ..errors import ModelUnavailableError
from ..settings import Settings, split_languages
from .conversion import convert_model, default_converted_dir, resolve_compute_type
from .hub import ResolvedModel, resolve_model

log = logging.getLogger(__name__)


def load_engines(settings: Settings) -> tuple[Seq2SeqEngine, Seq2SeqEngine | None]:
    """Resolve and load the translation model and, unless disabled, the summarization model,
    on the device and with the threads ``settings`` name (blocking: run it off the event loop)."""
    import torch

    if settings.torch_threads > 0:
        torch.set_num_threads(settings.torch_threads)
    device = pick_device(settings.device)

    def load(task: Task, ref: str, revision: str, engine: str, sources: str, targets: str) -> Seq2SeqEngine:
        flag = f"--{task.value}-model"
        resolved = resolve_model(ref, revision, cache_dir=settings.cache_dir, offline=settings.offline, flag=flag)
        return load_engine(
            resolved,
            task,
            split_languages(sources),
            split_languages(targets),
            device,
            engine=engine,
            threads=settings.torch_threads,
            compute_type=settings.ctranslate2_compute_type,
            converted_dir=settings.ctranslate2_dir,
        )

    translation = load(
        Task.TRANSLATION,
        settings.translation_model,
        settings.translation_revision,
        settings.translation_engine,
        settings.translation_source_languages,
        settings.translation_target_languages,
    )
    if not settings.summarization_enabled:
        return translation, None
    languages = settings.summarization_languages
    summarization = load(
        Task.SUMMARIZATION,
        settings.summarization_model,
        settings.summarization_revision,
        settings.summarization_engine,
        languages,
        languages,
    )
    return translation, summarization


def pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelUnavailableError(f"--device {device} was asked for, but torch sees no CUDA device; use --device cpu")
    return device


_BANNER = "!" * 78


ENGINES = ("transformers", "ctranslate2")


def _window(tokenizer: Any, config: Any) -> int:
    """Longest input the model reads: the tokenizer's limit, capped by the position table."""
    window = tokenizer.model_max_length if tokenizer.model_max_length < 100_000 else 512
    positions = getattr(config, "max_position_embeddings", None)
    return min(window, positions) if positions else window


def _max_output(config: Any) -> int:
    """Most new tokens the decoder can generate: its position table (the start token takes
    one, the last generated token none), or the server's cap for relative positions (mT5)."""
    positions = getattr(config, "max_position_embeddings", None)
    return min(positions, MAX_OUTPUT_TOKENS) if positions else MAX_OUTPUT_TOKENS


def load_engine(
    resolved: ResolvedModel,
    task: Task,
    source_languages: tuple[str, ...],
    target_languages: tuple[str, ...],
    device: str,
    *,
    engine: str = "transformers",
    compute_type: str = "auto",
    converted_dir: str = "",
    threads: int = 0,
) -> Seq2SeqEngine:
    """Load ``resolved`` with the chosen inference ``engine`` onto ``device``.

    transformers: ``from_pretrained`` (half precision on CUDA). ctranslate2: the model is
    converted once into ``converted_dir`` (keyed by model, revision and compute type), then loaded.
    """
    import transformers
    from transformers import AutoConfig, AutoModelForSeq2SeqLM, AutoTokenizer

    if engine not in ENGINES:
        raise ModelUnavailableError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    transformers.utils.logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(resolved.directory)
        config = AutoConfig.from_pretrained(resolved.directory)
    except (OSError, ValueError, ImportError) as error:
        raise ModelUnavailableError(f"cannot load {resolved.ref!r} from {resolved.directory}: {error}") from error

    def info(engine_label: str) -> ModelInfo:
        return ModelInfo(
            id=resolved.ref,
            task=task,
            revision=resolved.revision,
            source_languages=source_languages,
            target_languages=target_languages,
            license=resolved.license,
            engine=engine_label,
            device=device,
            max_input_tokens=_window(tokenizer, config),
            max_output_tokens=_max_output(config),
            untrained=resolved.untrained,
            notice=resolved.notice,
        )

    loaded: Seq2SeqEngine
    if engine == "ctranslate2":
        loaded = _load_ctranslate2(resolved, tokenizer, info, device, compute_type, converted_dir, threads)
    else:
        import torch

        # Half precision on CUDA: bfloat16 where the GPU has it (mT5 overflows in float16).
        dtype = (
            (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if device.startswith("cuda") else None
        )
        try:
            model = AutoModelForSeq2SeqLM.from_pretrained(resolved.directory, dtype=dtype)
        except (OSError, ValueError, ImportError) as error:
            raise ModelUnavailableError(f"cannot load {resolved.ref!r} from {resolved.directory}: {error}") from error
        model.eval().to(device)
        dtype_label = str(model.dtype).removeprefix("torch.")
        loaded = TransformersEngine(model, tokenizer, info(f"transformers {transformers.__version__} ({dtype_label})"))
    _announce(resolved, task, device, loaded.info)
    return loaded


def _announce(resolved: ResolvedModel, task: Task, device: str, info: ModelInfo) -> None:
    if resolved.untrained:
        log.warning(
            "\n%s\n!! %s model %s is UNTRAINED (random weights): its output is noise,\n"
            "!! for testing the service only. Point the server at real models for real work.\n%s",
            _BANNER,
            task.value,
            resolved.ref,
            _BANNER,
        )
    elif resolved.notice:
        log.warning("%s: %s", resolved.ref, resolved.notice)
    log.info(
        "loaded %s model %s (revision %s) on %s with %s, window %d tokens",
        task.value,
        resolved.ref,
        resolved.revision,
        device,
        info.engine,
        info.max_input_tokens,
    )


def _load_ctranslate2(
    resolved: ResolvedModel,
    tokenizer: Any,
    info: Callable[[str], ModelInfo],
    device: str,
    compute_type: str,
    converted_dir: str,
    threads: int,
) -> CTranslate2Engine:
    try:
        import ctranslate2
    except ImportError as error:
        raise ModelUnavailableError(
            "the ctranslate2 engine needs the ctranslate2 package: pip install 'tarjama[server,ctranslate2]'"
        ) from error
    compute_type = resolve_compute_type(compute_type, device)
    model_dir = convert_model(resolved, compute_type, Path(converted_dir) if converted_dir else default_converted_dir())
    kind, _, index = device.partition(":")
    translator = ctranslate2.Translator(
        str(model_dir),
        device=kind,
        device_index=int(index or 0),
        compute_type=compute_type,
        inter_threads=1,  # one batch at a time, as the scheduler sends them
        intra_threads=threads,  # 0: CTranslate2's default
    )
    return CTranslate2Engine(translator, tokenizer, info(f"ctranslate2 {ctranslate2.__version__} ({compute_type})"))
