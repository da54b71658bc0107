"""CTranslate2 conversion: a Hugging Face model converted once, keyed by model, revision and
compute type, into a directory the ``ctranslate2`` engine loads (``tarjama-models convert``
does it ahead of the server's first start, and the image bakes it)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from ..engines.base import GUIDED_HEAD, AlignmentHead
from ..errors import ModelUnavailableError
from .hub import WEIGHT_FILES, ResolvedModel

log = logging.getLogger(__name__)


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


def converted_model_dir(
    resolved: ResolvedModel, compute_type: str, root: Path, alignment_head: AlignmentHead = GUIDED_HEAD
) -> Path:
    revision = f"local-{_fingerprint(resolved.directory)}" if resolved.revision == "local" else resolved.revision
    name = re.sub(r"[^\w.-]+", "--", resolved.ref.strip("/."))
    # The alignment head is part of the converted model (CTranslate2 reads it from the spec);
    # the default (Marian's guided head, CTranslate2's own default) keeps the plain name.
    if alignment_head != GUIDED_HEAD:
        compute_type = f"{compute_type}-align{alignment_head.layer}x{alignment_head.heads}"
    return root / name / revision / compute_type


# Models smaller than this are converted in the server's own process.
_CONVERT_IN_PLACE_BYTES = 64 * 1024 * 1024


def convert_model(
    resolved: ResolvedModel, compute_type: str, root: Path, alignment_head: AlignmentHead = GUIDED_HEAD
) -> Path:
    """The CTranslate2 conversion of ``resolved`` in ``compute_type``, made on first use.

    The conversion loads the whole Hugging Face model (2.3 GB for XLSum in float32), so a
    large model is converted in a child process: the server's memory then holds only the
    converted model. Small ones (test models) convert in place, without a process start."""
    import multiprocessing
    import os
    import shutil
    import time

    target = converted_model_dir(resolved, compute_type, root, alignment_head)
    if (target / "model.bin").is_file():
        return target
    log.info("converting %s to CTranslate2 (%s) in %s, once: later starts load it", resolved.ref, compute_type, target)
    started = time.monotonic()
    staging = target.with_name(f"{target.name}.converting-{os.getpid()}")
    # A folder we cannot write fails now, not after minutes of loading the model to convert it.
    target.parent.mkdir(parents=True, exist_ok=True)
    if not os.access(target.parent, os.W_OK):
        raise PermissionError(f"cannot write CTranslate2 conversions into {target.parent} (--ctranslate2-dir)")
    try:
        weights = sum(path.stat().st_size for path in resolved.directory.iterdir() if path.name in WEIGHT_FILES)
        if weights < _CONVERT_IN_PLACE_BYTES:
            _convert(str(resolved.directory), str(staging), compute_type, alignment_head)
            exitcode = 0
        else:
            child = multiprocessing.get_context("spawn").Process(
                target=_convert,
                args=(str(resolved.directory), str(staging), compute_type, alignment_head),
                name="ctranslate2-convert",
            )
            child.start()
            child.join()
            exitcode = child.exitcode or 0
        if exitcode != 0:
            raise ModelUnavailableError(
                f"converting {resolved.ref!r} to CTranslate2 failed (exit code {exitcode}; "
                "the log above has the details); try `tarjama-models convert` to see it alone"
            )
        os.replace(staging, target)  # whole or not at all: another replica may share the cache
        log.info("converted %s to CTranslate2 (%s) in %.1f s", resolved.ref, compute_type, time.monotonic() - started)
    except OSError:
        if not (target / "model.bin").is_file():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _convert(source: str, staging: str, compute_type: str, alignment_head: AlignmentHead = GUIDED_HEAD) -> None:
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

        def _load(self) -> Any:
            spec = super()._load()
            decoder = getattr(spec, "decoder", None)
            if decoder is not None and hasattr(decoder, "alignment_layer"):
                # What return_attention reads: the mean of the first `heads` heads of `layer`.
                decoder.alignment_layer = np.int16(alignment_head.layer)
                decoder.alignment_heads = np.int16(alignment_head.heads)
            return spec

    import numpy as np

    Converter(source).convert(staging, quantization=compute_type, force=True)
