"""Model loading, in one place: hub ids or local directories, pinned revisions,
offline mode, and the ``tarjama-models`` operator command.

Hub models are fetched with ``huggingface_hub.snapshot_download`` into the
standard Hugging Face cache (``HF_HOME``) and then loaded from that snapshot
directory with ``from_pretrained``; a local directory takes the same
``from_pretrained`` path. So the server, the tests (tiny models saved to disk)
and ``tarjama-models verify`` all exercise one loader.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .engines.base import MAX_OUTPUT_TOKENS, ModelInfo, Seq2SeqEngine, Task
from .engines.ctranslate2_engine import CTranslate2Engine
from .engines.transformers_engine import TransformersEngine
from .errors import ModelUnavailableError
from .settings import DEFAULT_SUMMARIZATION_MODEL, DEFAULT_TRANSLATION_MODEL
from .tiny_models import UNTRAINED_MARKER

log = logging.getLogger(__name__)

# Tokenizer, config and card files; weights are chosen separately (safetensors first).
_METADATA_PATTERNS = ["*.json", "*.spm", "*.model", "*.txt", "README.md"]
_WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)

# Used when a model card does not state its licence in its metadata.
KNOWN_LICENSES = {
    DEFAULT_TRANSLATION_MODEL: "apache-2.0",
    DEFAULT_SUMMARIZATION_MODEL: "cc-by-nc-sa-4.0",
    "csebuetnlp/mT5_m2o_english_crossSum": "cc-by-nc-sa-4.0",
}
_NON_COMMERCIAL = re.compile(r"-nc(-|$)")


@dataclass(frozen=True)
class ResolvedModel:
    """A model located on local disk, ready for ``from_pretrained``."""

    ref: str
    directory: Path
    revision: str
    untrained: bool
    license: str

    @property
    def notice(self) -> str:
        if self.untrained:
            return "UNTRAINED TEST MODEL with random weights: its output is meaningless."
        if _NON_COMMERCIAL.search(self.license):
            return f"Licence {self.license} forbids commercial use; replace this model for commercial work."
        return ""


def _looks_like_path(ref: str) -> bool:
    return ref.startswith(("/", ".", "~")) or Path(ref).expanduser().exists()


def _card_license(directory: Path) -> str:
    """The ``license:`` field of the model card's YAML front matter, if any."""
    card = directory / "README.md"
    if not card.is_file():
        return ""
    match = re.match(r"---\s*\n(.*?)\n---", card.read_text(errors="replace"), re.S)
    if not match:
        return ""
    field = re.search(r"^license:\s*['\"]?([\w.\-]+)", match.group(1), re.M)
    return field.group(1).lower() if field else ""


def _has_weights(directory: Path) -> bool:
    return any((directory / name).is_file() for name in _WEIGHT_FILES)


def _unavailable(ref: str, revision: str, flag: str, cause: str) -> ModelUnavailableError:
    revision_text = f" --revision {revision}" if revision else ""
    return ModelUnavailableError(
        f"cannot load model {ref!r}{' at revision ' + revision if revision else ''}: {cause}\n"
        "Provide it in one of these ways:\n"
        f"  - on a machine with network access run `tarjama-models download {ref}{revision_text}` and copy its "
        "Hugging Face cache (HF_HOME, default ~/.cache/huggingface) to this machine, or mount it in the container;\n"
        f"  - or point the server at a local directory saved with save_pretrained: {flag} /path/to/model;\n"
        "  - to see the whole service work offline on tiny UNTRAINED models, see the README (`--tiny-models`)."
    )


def resolve_model(
    ref: str, revision: str = "", *, cache_dir: str = "", offline: bool = False, flag: str = ""
) -> ResolvedModel:
    """Find (and, unless offline, download) ``ref``: a local directory or a hub id."""
    ref = ref.strip()
    flag = flag or "--translation-model"
    if _looks_like_path(ref):
        directory = Path(ref).expanduser().resolve()
        if not (directory / "config.json").is_file():
            raise _unavailable(ref, "", flag, f"{directory} is not a model directory (no config.json)")
        untrained = (directory / UNTRAINED_MARKER).is_file()
        license_id = _card_license(directory) or ("none (untrained test model)" if untrained else "unknown")
        return ResolvedModel(ref, directory, "local", untrained, license_id)

    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    def download(weights: str) -> Path:
        return Path(
            snapshot_download(
                repo_id=ref,
                revision=revision or None,
                cache_dir=cache_dir or None,
                local_files_only=offline,
                allow_patterns=[*_METADATA_PATTERNS, weights],
            )
        )

    try:
        directory = download("*.safetensors")
        if not _has_weights(directory) and not offline:
            directory = download("pytorch_model.bin*")
    except LocalEntryNotFoundError as error:
        where = (
            "offline mode is on and it is not in the local cache"
            if offline
            else ("it is not in the local cache and the model hub could not be reached")
        )
        raise _unavailable(ref, revision, flag, f"{where} ({type(error).__name__})") from error
    except (HfHubHTTPError, OSError, ValueError) as error:
        raise _unavailable(ref, revision, flag, f"{type(error).__name__}: {error}") from error
    if not _has_weights(directory):
        raise _unavailable(ref, revision, flag, f"the cached snapshot {directory} has no weight files")
    return ResolvedModel(
        ref=ref,
        directory=directory,
        revision=directory.name,  # snapshots/<commit hash>
        untrained=(directory / UNTRAINED_MARKER).is_file(),
        license=_card_license(directory) or KNOWN_LICENSES.get(ref, "unknown"),
    )


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


# -- CTranslate2 ----------------------------------------------------------------


def default_converted_dir() -> Path:
    """Where converted CTranslate2 models are kept unless --ctranslate2-dir says otherwise."""
    from huggingface_hub import constants

    return Path(constants.HF_HOME) / "tarjama-ctranslate2"


def resolve_compute_type(compute_type: str, device: str) -> str:
    """``auto``: int8 on CPU, int8_float16 on CUDA; any other must be supported there."""
    import ctranslate2

    kind = "cuda" if device.startswith("cuda") else "cpu"
    if compute_type == "auto":
        compute_type = "int8_float16" if kind == "cuda" else "int8"
    supported = ctranslate2.get_supported_compute_types(kind)
    if compute_type not in supported:
        raise ModelUnavailableError(
            f"CTranslate2 compute type {compute_type!r} is not supported on {kind}: "
            f"choose one of {', '.join(sorted(supported))}"
        )
    return compute_type


def _fingerprint(directory: Path) -> str:
    """A local directory has no revision: key its conversion by its files' names, sizes and times."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(directory.iterdir()):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def converted_model_dir(resolved: ResolvedModel, compute_type: str, root: Path) -> Path:
    revision = f"local-{_fingerprint(resolved.directory)}" if resolved.revision == "local" else resolved.revision
    name = re.sub(r"[^\w.-]+", "--", resolved.ref.strip("/."))
    return root / name / revision / compute_type


# Models smaller than this are converted in the server's own process.
_CONVERT_IN_PLACE_BYTES = 64 * 1024 * 1024


def convert_model(resolved: ResolvedModel, compute_type: str, root: Path) -> Path:
    """The CTranslate2 conversion of ``resolved`` in ``compute_type``, made on first use.

    The conversion loads the whole Hugging Face model (2.3 GB for XLSum in float32), so a
    large model is converted in a child process: the server's memory then holds only the
    converted model. Small ones (test models) convert in place, without a process start."""
    import multiprocessing
    import os
    import shutil

    target = converted_model_dir(resolved, compute_type, root)
    if (target / "model.bin").is_file():
        return target
    log.info("converting %s to CTranslate2 (%s) in %s", resolved.ref, compute_type, target)
    staging = target.with_name(f"{target.name}.converting-{os.getpid()}")
    try:
        weights = sum(path.stat().st_size for path in resolved.directory.iterdir() if path.name in _WEIGHT_FILES)
        if weights < _CONVERT_IN_PLACE_BYTES:
            _convert(str(resolved.directory), str(staging), compute_type)
            exitcode = 0
        else:
            child = multiprocessing.get_context("spawn").Process(
                target=_convert, args=(str(resolved.directory), str(staging), compute_type), name="ctranslate2-convert"
            )
            child.start()
            child.join()
            exitcode = child.exitcode or 0
        if exitcode != 0:
            raise ModelUnavailableError(
                f"converting {resolved.ref!r} to CTranslate2 failed (exit code {exitcode}; "
                "the log above has the details); try `tarjama-models convert` to see it alone"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, target)  # whole or not at all: another replica may share the cache
    except OSError:
        if not (target / "model.bin").is_file():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _convert(source: str, staging: str, compute_type: str) -> None:
    """In the conversion's child process."""
    from ctranslate2.converters import TransformersConverter

    class Converter(TransformersConverter):
        def load_model(self, model_class: Any, model_name_or_path: str, **kwargs: Any) -> Any:
            model = super().load_model(model_class, model_name_or_path, **kwargs)
            # transformers 5 reports every mT5 as tied, XLSum included, whose lm_head is its own;
            # CTranslate2 would then scale the decoder output as for a tied T5 and change the scores.
            if model.get_output_embeddings().weight.data_ptr() != model.get_input_embeddings().weight.data_ptr():
                model.config.tie_word_embeddings = False
            return model

    Converter(source).convert(staging, quantization=compute_type, force=True)


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


def is_cached(ref: str, revision: str = "", cache_dir: str = "") -> bool:
    """True when ``ref`` can be loaded without network (used to skip real-model tests)."""
    try:
        resolve_model(ref, revision, cache_dir=cache_dir, offline=True)
    except ModelUnavailableError:
        return False
    return True
