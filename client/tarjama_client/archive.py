"""The files of ``tarjama batch``: what it reads (JSON Lines, or a folder of .txt/.html files),
the output it appends to and resumes from (the journal), and the line it writes per item.

No network and no event loop here: ``batch.py`` runs the calls.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from .textfiles import BINARY_SIGNATURES, UnreadableTextError, decode_text
from .types import BatchItem, BatchResult

try:
    import fcntl
except ImportError:  # not POSIX: no lock against a second run
    fcntl = None  # type: ignore[assignment]

# The journal of a folder run, inside the output folder, beside the mirrored files.
MANIFEST_NAME = "tarjama-batch.jsonl"
FOLDER_SUFFIXES = {".txt": "", ".htm": "text/html", ".html": "text/html"}
# Errors that belong to the item: written as its line, never retried by a later run. Any
# other failure (UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED...) leaves the item
# without a line, for the next run to try again.
ITEM_ERRORS = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.INTERNAL,  # the server already retried the item's segments one by one
    }
)
INVALID_INPUT = grpc.StatusCode.INVALID_ARGUMENT.name


class ArchiveError(ValueError):
    """The input or output cannot be used as given: one line that says what to fix."""


@dataclass(frozen=True)
class Rejected:
    """An input entry that cannot be sent (not JSON, no text...): its line is an error at once."""

    id: Any
    line: int  # the input line (JSON Lines), 0 for a file of a folder
    message: str

    @property
    def key(self) -> str:
        return item_key(self.id, self.line)


def item_key(item_id: Any, line: int = 0) -> str:
    """What identifies an item across runs: its id as JSON (so 7 and "7" differ), or its input
    line where it has no usable id."""
    return json.dumps(item_id, ensure_ascii=False) if item_id is not None else f"line {line}"


# -- inputs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One entry of the input: an item to send, or one rejected on reading. ``line``: its input
    line (JSON Lines), for messages."""

    value: BatchItem | Rejected
    line: int = 0


def count_entries(path: Path) -> int:
    """About how many entries the input holds (for a progress bar): files, or non-blank lines."""
    if path.is_dir():
        return sum(1 for _ in folder_files(path))
    with path.open("rb") as handle:
        return sum(1 for raw in handle if raw.strip())


def check_fields(path: Path, id_field: str, text_field: str) -> None:
    """ArchiveError when the input is binary (gzip, PDF...) or its first JSON object lacks either
    field: the fields are named wrong (every item would be an error line, keyed by its line
    number), not one item bad."""
    with path.open("rb") as handle:
        start = handle.read(4096)
        for signature, kind in BINARY_SIGNATURES.items():
            if start.startswith(signature):
                raise ArchiveError(f"{path} is {kind}, not JSON Lines")
        if b"\x00" in start:
            raise ArchiveError(f"{path} holds NUL bytes: it is binary data (or UTF-16), not JSON Lines in UTF-8")
        handle.seek(0)
        for raw in handle:
            try:
                data = json.loads(raw)
            except ValueError:
                continue
            if isinstance(data, dict):
                for name, option in ((id_field, "--id-field"), (text_field, "--text-field")):
                    if name not in data:
                        fields = ", ".join(repr(key) for key in list(data)[:8])
                        raise ArchiveError(
                            f"{path}: the first item has no {name!r} field (it has {fields}): name it with {option}"
                        )
                return


def read_jsonl(path: Path, id_field: str = "id", text_field: str = "text") -> Iterator[Entry]:
    """Each non-blank line of a JSON Lines file: ``{id_field: …, text_field: …}`` plus optional
    ``mime_type``, ``source_language`` and ``glossary``."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            yield Entry(_jsonl_entry(raw, number, id_field, text_field), number)


def _jsonl_entry(raw: bytes, number: int, id_field: str, text_field: str) -> BatchItem | Rejected:
    try:
        data = json.loads(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
    except UnicodeDecodeError as error:
        return Rejected(None, number, f"line {number} is not UTF-8 (byte {error.start}): JSON Lines must be UTF-8")
    except json.JSONDecodeError as error:
        return Rejected(None, number, f"line {number} is not valid JSON: {error.msg} at column {error.colno}")
    if not isinstance(data, dict):
        return Rejected(None, number, f"line {number} is a JSON {type(data).__name__}, not an object")
    item_id = data.get(id_field)
    if item_id is None or isinstance(item_id, bool) or not isinstance(item_id, (str, int)):
        what = "has no" if item_id is None else "has a non-string, non-integer"
        return Rejected(None, number, f"line {number} {what} {id_field!r} field (--id-field names another)")
    text = data.get(text_field)
    if not isinstance(text, str):
        what = "has no" if text is None else f"has a {type(text).__name__} in its"
        return Rejected(item_id, number, f"line {number} {what} {text_field!r} field (--text-field names another)")
    options = {name: data.get(name) or "" for name in ("mime_type", "source_language")}
    for name, value in options.items():
        if not isinstance(value, str):
            return Rejected(item_id, number, f"line {number}: {name} must be a string")
    glossary = data.get("glossary")
    if glossary is not None and not (
        isinstance(glossary, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in glossary.items())
    ):
        return Rejected(item_id, number, f"line {number}: glossary must be an object of strings to strings")
    return BatchItem(id=item_id, text=text, glossary=glossary, **options)


def folder_files(root: Path) -> Iterator[Path]:
    """The .txt/.htm/.html files under ``root``, sorted, skipping hidden files and folders."""
    for directory, folders, files in os.walk(root):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and Path(name).suffix.lower() in FOLDER_SUFFIXES:
                yield Path(directory, name)


def read_folder(root: Path, encoding: str = "") -> Iterator[Entry]:
    """Each text or HTML file under ``root``; its id is its path relative to ``root``."""
    for path in folder_files(root):
        relative = path.relative_to(root).as_posix()
        try:
            text = decode_text(path.read_bytes(), relative, encoding)
        except (UnreadableTextError, OSError) as error:
            yield Entry(Rejected(relative, 0, str(error)))
            continue
        yield Entry(BatchItem(id=relative, text=text, mime_type=FOLDER_SUFFIXES[path.suffix.lower()]))


def read_input(path: Path, *, id_field: str, text_field: str, encoding: str) -> Iterator[Entry]:
    return read_folder(path, encoding) if path.is_dir() else read_jsonl(path, id_field, text_field)


# -- the output --------------------------------------------------------------------------------


def record(result: BatchResult) -> dict[str, Any]:
    """The output line of an item: its id and either ``error`` or everything the client's result
    dataclasses carry (``translation``: text, detected language, segments...; ``model``,
    ``usage``...; ``summary`` when asked), so fields the API adds reach the line unchanged."""
    line: dict[str, Any] = {"id": result.id}
    if result.error is not None:
        code = result.error.code.name if result.error.code else INVALID_INPUT
        line["error"] = {"code": code, "message": result.error.details}
        return line
    assert result.result is not None
    data = dataclasses.asdict(result.result)
    (line["translation"],) = data.pop("translations")
    line.update(data)
    if result.summary is not None:
        line["summary"] = dataclasses.asdict(result.summary)
    return line


def rejected_record(rejected: Rejected) -> dict[str, Any]:
    line: dict[str, Any] = {"id": rejected.id}
    if rejected.line:
        line["line"] = rejected.line
    line["error"] = {"code": INVALID_INPUT, "message": rejected.message}
    return line


def belongs_to_item(result: BatchResult) -> bool:
    """Whether the item's outcome is final: translated, or an error of the item itself."""
    return result.error is None or result.error.code is None or result.error.code in ITEM_ERRORS


def _json_default(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def encode_line(line: Mapping[str, Any]) -> bytes:
    return (json.dumps(line, ensure_ascii=False, default=_json_default) + "\n").encode("utf-8")


@dataclass
class Resumed:
    """What an output already holds: the keys of its items, how many were translated, errors by code."""

    keys: set[str] = dataclasses.field(default_factory=set)
    translated: int = 0
    errors: dict[str, int] = dataclasses.field(default_factory=dict)
    dropped_bytes: int = 0  # a torn last line, cut off


class Journal:
    """The JSON Lines output, opened for appending. Each line is written whole with one
    ``write`` and goes to the operating system at once, so a SIGKILL loses no written line;
    a crash mid-write leaves at most a torn last line, which ``open`` cuts off on resume.
    An exclusive lock keeps a second run off the same output."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = -1

    def open(self) -> Resumed:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            if fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise ArchiveError(f"{self.path} is being written by another tarjama batch run") from None
        try:
            return self._resume()
        except BaseException:
            self.close()
            raise

    def _resume(self) -> Resumed:
        resumed = Resumed()
        offset = 0
        with open(self.path, "rb") as handle:
            for number, raw in enumerate(handle, 1):
                if not raw.endswith(b"\n"):  # a torn last line: the previous run died writing it
                    os.ftruncate(self._fd, offset)
                    resumed.dropped_bytes = len(raw)
                    break
                offset += len(raw)
                self._count(resumed, raw, number)
        return resumed

    def _count(self, resumed: Resumed, raw: bytes, number: int) -> None:
        try:
            line = json.loads(raw)
            key = item_key(line["id"], line.get("line", 0))
        except (ValueError, KeyError, TypeError):
            raise ArchiveError(
                f"{self.path}:{number} is not a line tarjama batch wrote: fix or remove it, then run again"
            ) from None
        if key in resumed.keys:
            raise ArchiveError(f"{self.path}:{number}: the id {key} has a line already: remove one of them")
        resumed.keys.add(key)
        if "error" in line:
            code = str(line["error"].get("code"))
            resumed.errors[code] = resumed.errors.get(code, 0) + 1
        else:
            resumed.translated += 1

    def write(self, line: Mapping[str, Any]) -> None:
        view = memoryview(encode_line(line))
        while view:
            view = view[os.write(self._fd, view) :]

    def close(self) -> None:
        if self._fd >= 0:
            try:
                os.fsync(self._fd)
            finally:
                os.close(self._fd)
                self._fd = -1


def write_mirrored(root: Path, relative: str, text: str) -> None:
    """``text`` at ``root/relative`` (UTF-8), written beside it and renamed, so a file there
    is always whole."""
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, target)


def check_paths(source: Path, output: Path) -> Path:
    """The journal's path for ``source`` → ``output``, or ArchiveError when they cannot work together."""
    if not source.exists():
        raise ArchiveError(f"{source} does not exist")
    if source.is_dir():
        if output.exists() and not output.is_dir():
            raise ArchiveError(f"{output} is a file: the output of a folder is a folder")
        if output.resolve() == source.resolve() or source.resolve() in output.resolve().parents:
            raise ArchiveError(f"the output folder {output} lies inside the input folder {source}: choose another")
        return output / MANIFEST_NAME
    if output.is_dir():
        raise ArchiveError(f"{output} is a folder: the output of a JSON Lines file is a file")
    if output.exists() and output.resolve() == source.resolve():
        raise ArchiveError("the output is the input file: choose another")
    return output
