"""Loading a resolved model into an inference engine: device choice, the engine (``auto``:
CTranslate2 where installed, else transformers), model workers and threads, the model's
window and output limits, and the log lines an operator reads at start-up."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..engines.base import GUIDED_HEAD, MAX_OUTPUT_TOKENS, AlignmentHead, ModelInfo, Seq2SeqEngine, Task
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

    device = pick_device(settings.device)
    if settings.model_workers < 0:
        raise ModelUnavailableError(f"--model-workers {settings.model_workers}: give 0 (one per core) or a count")
    cores = usable_cores(settings.torch_threads)
    workers = settings.model_workers or default_workers(device, cores)
    threads = max(1, cores // workers)  # per worker
    if workers > 1 or settings.torch_threads > 0:
        # Process-wide: each of the N concurrent torch calls gets its share (one worker: --torch-threads).
        torch.set_num_threads(threads)
    log.info(
        "%d model worker%s (batches at once per model), %d thread%s each, on %d cores",
        workers,
        "s" if workers > 1 else "",
        threads,
        "s" if threads > 1 else "",
        cores,
    )

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
            threads=threads,
            workers=workers,
            compute_type=settings.ctranslate2_compute_type,
            converted_dir=settings.ctranslate2_dir,
            alignment_head=AlignmentHead(settings.translation_alignment_layer, settings.translation_alignment_heads),
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


def resolve_engine(engine: str, device: str) -> str:
    """``auto``: ctranslate2 where it is installed (built with CUDA, for a GPU), else transformers."""
    if engine != "auto":
        return engine
    try:
        import ctranslate2
    except ImportError:
        log.info("engine auto: the ctranslate2 package is not installed, so transformers")
        return "transformers"
    if device.startswith("cuda") and ctranslate2.get_cuda_device_count() == 0:
        log.info("engine auto: this ctranslate2 build sees no CUDA device, so transformers")
        return "transformers"
    return "ctranslate2"


def usable_cores(threads: int = 0) -> int:
    """The cores inference may use: ``threads`` when set (a container's CPU limit), else
    those this process may run on."""
    if threads > 0:
        return threads
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_workers(device: str, cores: int) -> int:
    """Model workers when none are asked for: on CPU one per core, each batch on one thread.
    On 2 cores one sorted batch per core beat one batch on both cores on either engine
    (CTranslate2 1.3-1.6x, transformers 1.3x on a quiet machine and more on a busy one, where
    threads of one batch wait for each other; README, Performance). On CUDA one (one device;
    not measured)."""
    return 1 if device.startswith("cuda") else max(1, cores)


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
    workers: int = 1,
    alignment_head: AlignmentHead = GUIDED_HEAD,
) -> Seq2SeqEngine:
    """Load ``resolved`` with the chosen inference ``engine`` onto ``device``, for ``workers``
    batches at once, each on ``threads`` threads (0: the engine's default).

    transformers: ``from_pretrained`` (half precision on CUDA). ctranslate2: the model is
    converted once into ``converted_dir`` (keyed by model, revision and compute type), then loaded.
    auto: ctranslate2 where installed; a model it cannot convert or load runs on transformers.
    ``alignment_head``: the cross-attention a translation model's word alignment is read from.
    """
    requested = engine
    import transformers
    from transformers import AutoConfig, AutoModelForSeq2SeqLM, AutoTokenizer

    engine = resolve_engine(engine, device)
    if engine not in ENGINES:
        raise ModelUnavailableError(f"unknown engine {engine!r}: choose auto or one of {', '.join(ENGINES)}")
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
            workers=workers,
        )

    loaded: Seq2SeqEngine | None = None
    if engine == "ctranslate2":
        try:
            loaded = _load_ctranslate2(
                resolved, tokenizer, info, device, compute_type, converted_dir, threads, workers, alignment_head
            )
        except (ModelUnavailableError, OSError, ValueError, RuntimeError) as error:
            if requested != "auto":
                raise
            # An architecture CTranslate2 cannot convert, a read-only conversion folder...: still serve.
            log.warning(
                "engine auto: %s cannot run on CTranslate2 (%s: %s); using transformers",
                resolved.ref,
                type(error).__name__,
                error,
            )
    if loaded is None:
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
        label = f"transformers {transformers.__version__} ({dtype_label}{_workers_label(workers, threads)})"
        head = alignment_head if task is Task.TRANSLATION else None
        loaded = TransformersEngine(model, tokenizer, info(label), alignment_head=head)
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
    workers: int,
    alignment_head: AlignmentHead,
) -> CTranslate2Engine:
    try:
        import ctranslate2
    except ImportError as error:
        raise ModelUnavailableError(
            "the ctranslate2 engine needs the ctranslate2 package: pip install 'tarjama[server,ctranslate2]'"
        ) from error
    compute_type = resolve_compute_type(compute_type, device)
    model_dir = convert_model(
        resolved, compute_type, Path(converted_dir) if converted_dir else default_converted_dir(), alignment_head
    )
    kind, _, index = device.partition(":")
    translator = ctranslate2.Translator(
        str(model_dir),
        device=kind,
        device_index=int(index or 0),
        compute_type=compute_type,
        inter_threads=workers,  # batches at once: the scheduler keeps this many in flight
        intra_threads=threads,  # per batch; 0: CTranslate2's default
    )
    label = f"ctranslate2 {ctranslate2.__version__} ({compute_type}{_workers_label(workers, threads)})"
    return CTranslate2Engine(translator, tokenizer, info(label))


def _workers_label(workers: int, threads: int) -> str:
    """What ListModels' engine adds about parallel workers (nothing for one)."""
    return f", {workers} workers x {threads} thread{'s' if threads > 1 else ''}" if workers > 1 else ""
