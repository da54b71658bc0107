"""Where a model comes from: a hub id (downloaded into the Hugging Face cache, at a pinned
revision, or only from the cache in offline mode) or a local directory saved with
``save_pretrained``; and its licence.

Hub models are fetched with ``huggingface_hub.snapshot_download`` into the standard
Hugging Face cache (``HF_HOME``) and then loaded from that snapshot directory with
``from_pretrained``; a local directory takes the same path. So the server, the tests
(tiny models saved to disk) and ``tarjama-models verify`` all exercise one loader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelUnavailableError
from ..settings import DEFAULT_SUMMARIZATION_MODEL, DEFAULT_TRANSLATION_MODEL
from .tiny_models import UNTRAINED_MARKER

# Tokenizer, config and card files; weights are chosen separately (safetensors first).
_METADATA_PATTERNS = ["*.json", "*.spm", "*.model", "*.txt", "README.md"]
WEIGHT_FILES = (
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
    return any((directory / name).is_file() for name in WEIGHT_FILES)


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
