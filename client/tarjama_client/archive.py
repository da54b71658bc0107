"""The files of ``tarjama batch``: what it reads (JSON Lines, or a folder of .txt/.html files),
the output it appends to and resumes from (the journal), and the line it writes per item.

No network and no event loop here: ``batch.py`` runs the calls.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

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
STDIN = "-"  # the INPUT that reads JSON Lines from standard input


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


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (from 0): the items whose key hashes to ``index``. A stable
    hash (SHA-256 of the key's UTF-8, as a big-endian integer, modulo ``count``), so the pods of
    an Indexed Job, each with its own index, split one input with no overlap, on every run."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index}/{self.count}: the index runs from 0 to {self.count - 1}")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"I/N"``, e.g. ``"0/3"``."""
        index, slash, count = text.partition("/")
        if not (slash and index.strip().isdigit() and count.strip().isdigit()):
            raise ValueError(f"--shard {text!r}: write INDEX/COUNT, e.g. 0/3 (the index runs from 0)")
        return cls(int(index), int(count))

    def holds(self, key: str) -> bool:
        return self.count == 1 or shard_of(key, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard_of(key: str, count: int) -> int:
    """The shard of an item's key (``item_key``) among ``count``."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest(), "big") % count


# -- inputs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One entry of the input: an item to send, or one rejected on reading. ``line``: its input
    line (JSON Lines), for messages."""

    value: BatchItem | Rejected
    line: int = 0


def count_entries(path: Path) -> int | None:
    """About how many entries the input holds (for a progress bar): files, or non-blank lines;
    None for standard input."""
    if str(path) == STDIN:
        return None
    if path.is_dir():
        return sum(1 for _ in folder_files(path))
    with path.open("rb") as handle:
        return sum(1 for raw in handle if raw.strip())


class JsonLines:
    """A JSON Lines input, a file or standard input (``-``), read once and lazily. Its first
    lines are read on opening, up to the first JSON object, so that binary data or fields named
    wrong stop the run before any line is written (every item would be an error line, keyed by
    its line number, where in truth not one item is bad)."""

    def __init__(self, path: Path, id_field: str = "id", text_field: str = "text") -> None:
        self.name = "standard input" if str(path) == STDIN else str(path)
        self.id_field, self.text_field = id_field, text_field
        self._handle: IO[bytes] = sys.stdin.buffer if str(path) == STDIN else path.open("rb")
        self._head: list[bytes] = []
        try:
            self._check()
        except BaseException:
            self.close()
            raise

    def _check(self) -> None:
        first = True
        while raw := self._handle.readline():
            self._head.append(raw)
            if first:
                first = False
                start = raw[:4096]
                for signature, kind in BINARY_SIGNATURES.items():
                    if start.startswith(signature):
                        raise ArchiveError(f"{self.name} is {kind}, not JSON Lines")
                if b"\x00" in start:
                    raise ArchiveError(
                        f"{self.name} holds NUL bytes: it is binary data (or UTF-16), not JSON Lines in UTF-8"
                    )
            try:
                data = json.loads(raw)
            except ValueError:
                continue
            if isinstance(data, dict):
                for name, option in ((self.id_field, "--id-field"), (self.text_field, "--text-field")):
                    if name not in data:
                        fields = ", ".join(repr(key) for key in list(data)[:8])
                        raise ArchiveError(
                            f"{self.name}: the first item has no {name!r} field (it has {fields}): "
                            f"name it with {option}"
                        )
                return

    def entries(self) -> Iterator[Entry]:
        """Each non-blank line: ``{id_field: …, text_field: …}`` plus optional ``mime_type``,
        ``source_language`` and ``glossary``."""
        number = 0
        for raw in self._lines():
            number += 1
            if raw.strip():
                yield Entry(_jsonl_entry(raw, number, self.id_field, self.text_field), number)

    def _lines(self) -> Iterator[bytes]:
        while self._head:
            yield self._head.pop(0)
        yield from self._handle

    def close(self) -> None:
        if self._handle is not sys.stdin.buffer:
            self._handle.close()


def _jsonl_entry(raw: bytes, number: int, id_field: str, text_field: str) -> BatchItem | Rejected:
    try:
        data = json.loads(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
    except UnicodeDecodeError as error:
        return Rejected(None, number, f"line {number} is not UTF-8 (byte {error.start}): JSON Lines must be UTF-8")
    except json.JSONDecodeError as error:
        message = f"line {number} is not valid JSON: {error.msg} at column {error.colno}"
        item_id = readable_id(error.doc, id_field)
        if item_id is not None:
            message += f" (its {id_field!r} read before that)"
        return Rejected(item_id, number, message)
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


def readable_id(text: str, id_field: str) -> str | int | None:
    """The id of a line that is not valid JSON (cut off, a brace missing), when the line's
    object holds it, whole, before the point where it breaks: read member by member at the top
    level, never searched for (a text that quotes ``"id":`` is not mistaken for it)."""
    decoder = json.JSONDecoder()
    position = _skip_space(text, 0)
    if not text.startswith("{", position):
        return None
    position += 1
    try:
        while True:
            position = _skip_space(text, position)
            key, position = decoder.raw_decode(text, position)
            position = _skip_space(text, position)
            if not isinstance(key, str) or not text.startswith(":", position):
                return None
            value, position = decoder.raw_decode(text, _skip_space(text, position + 1))
            if key == id_field:
                usable = isinstance(value, (str, int)) and not isinstance(value, bool)
                return value if usable else None
            position = _skip_space(text, position)
            if not text.startswith(",", position):
                return None
            position += 1
    except ValueError:  # the line breaks here
        return None


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


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
    failed: list[str] = dataclasses.field(default_factory=list)  # the keys of the error lines
    dropped_bytes: int = 0  # a torn last line, cut off
    retried: int = 0  # error lines taken out to send their items again (``open(retry_failed=True)``)


class Journal:
    """The JSON Lines output, opened for appending. Each line is written whole with one
    ``write`` and goes to the operating system at once, so a SIGKILL loses no written line;
    a crash mid-write leaves at most a torn last line, which ``open`` cuts off on resume.
    An exclusive lock keeps a second run off the same output."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = -1
        self._replaced = -1  # the file ``retry_failed`` replaced: kept locked until ``close``

    def open(self, *, retry_failed: bool = False) -> Resumed:
        """What the output holds. ``retry_failed``: first take its error lines out (a new file
        renamed over it, so a crash keeps one whole version), to send their items again."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = self._open_locked(self.path)
        try:
            retried = self._drop_error_lines() if retry_failed else 0
            resumed = self._resume()
            resumed.retried = retried
            return resumed
        except BaseException:
            self.close()
            raise

    def _open_locked(self, path: Path, flags: int = 0) -> int:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | flags, 0o644)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ArchiveError(f"{self.path} is being written by another tarjama batch run") from None
        return fd

    def _drop_error_lines(self) -> int:
        kept, dropped = [], 0
        with open(self.path, "rb") as handle:
            for raw in handle:
                try:
                    is_error = raw.endswith(b"\n") and "error" in json.loads(raw)
                except (ValueError, TypeError):
                    is_error = False  # left for _resume to report
                if is_error:
                    dropped += 1
                else:
                    kept.append(raw)
        if not dropped:
            return 0
        fresh = self.path.with_name(f".{self.path.name}.retry-failed")
        fd = self._open_locked(fresh, os.O_TRUNC)
        try:
            view = memoryview(b"".join(kept))
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            os.replace(fresh, self.path)
        except BaseException:
            os.close(fd)
            raise
        self._replaced, self._fd = self._fd, fd
        return dropped

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
            resumed.failed.append(key)
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
        if self._replaced >= 0:
            os.close(self._replaced)
            self._replaced = -1


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
    if str(source) == STDIN:
        if output.is_dir():
            raise ArchiveError(f"{output} is a folder: the output of JSON Lines is a file")
        return output
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
