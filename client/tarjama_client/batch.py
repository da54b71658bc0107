"""``tarjama batch INPUT --output OUTPUT``: translate an archive, resumably, on
``AsyncTarjamaClient.translate_many``.

Every item gets one line in the output (its translation, or its error); a run that stops for
any reason, SIGKILL included, is resumed by running the same command again: it sends only
the items without a line. The files are ``archive.py``'s; this module runs the calls, shows
progress on a terminal and prints a JSON summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from ._channel import ConnectionConfig
from ._many import DEFAULT_CONCURRENCY
from ._retry import RetryPolicy
from .aio import AsyncTarjamaClient
from .archive import (
    INVALID_INPUT,
    STDIN,
    ArchiveError,
    Entry,
    Journal,
    JsonLines,
    Rejected,
    Resumed,
    Shard,
    belongs_to_item,
    check_paths,
    count_entries,
    item_key,
    read_folder,
    record,
    rejected_record,
    write_mirrored,
)
from .concurrency import AdaptiveConcurrency
from .types import UNTRAINED_WARNING, BatchItem, BatchResult, DecodingOptions

# A long run outlives a server restart: retry UNAVAILABLE and RESOURCE_EXHAUSTED longer than
# one interactive call would (about a minute at most, always within --timeout).
BATCH_RETRY = RetryPolicy(max_attempts=8, max_backoff=30.0)
# Stop, rather than fail every remaining item, after this many items in a row found no server.
MAX_FAILURES_IN_A_ROW = 20
# Codes that no other item would escape: stop at once.
STOP_CODES = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED})
DUPLICATES_SHOWN = 5
FAILED_SHOWN = 20
# Exit statuses (besides 2 for a bad command line, input or output, and 130/143 on SIGINT/SIGTERM).
EXIT_DONE = 0  # every item translated
EXIT_UNFINISHED = 1  # items left without a line (servers busy or unreachable, a stop): run again to resume
EXIT_FAILED_ITEMS = 3  # every item has a line, some of them errors: final until the input is fixed


@dataclass(frozen=True)
class BatchOptions:
    """One ``tarjama batch`` run, as the command line gives it."""

    input: str  # a JSON Lines file, a folder of .txt/.htm/.html files, or "-" (JSON Lines on standard input)
    output: str  # a JSON Lines file; for a folder input, a folder
    id_field: str = "id"
    text_field: str = "text"
    concurrency: int = DEFAULT_CONCURRENCY
    source_language: str = ""
    target_language: str = ""
    beams: int = 0
    glossary: Mapping[str, str] | None = None  # for items without one
    encoding: str = ""  # of a folder's files
    summarize: bool = False
    summary_language: str = ""
    style: str = ""
    retries: bool = True  # retry busy or unreachable servers longer than one interactive call would
    shard: Shard = field(default_factory=Shard)  # only the items of this shard
    retry_failed: bool = False  # send again the items whose lines are errors


@dataclass
class Tally:
    """What a run saw and did: the summary's figures."""

    resumed: Resumed = field(default_factory=Resumed)
    items: int = 0  # distinct ids read from the input
    done_in_input: int = 0  # of those, the items with a line (from an earlier run or this one)
    read_all: bool = False  # the input was read to its end
    translated: int = 0  # lines written by this run: translations
    errors: Counter[str] = field(default_factory=Counter)  # lines written by this run: errors, by code
    missing: Counter[str] = field(default_factory=Counter)  # items this run left without a line, by code
    duplicates: list[int] = field(default_factory=list)  # input lines of repeated ids
    other_shards: int = 0  # input entries of other shards, skipped
    failed: list[str] = field(default_factory=list)  # keys of the items given error lines by this run
    segments: int = 0
    started: float = field(default_factory=time.monotonic)
    stopped: str = ""  # why the run stopped before the end, if it did

    @property
    def written(self) -> int:
        return self.translated + sum(self.errors.values())

    @property
    def complete(self) -> bool:
        return self.read_all and not self.stopped and self.done_in_input == self.items

    @property
    def failed_keys(self) -> list[str]:
        """The items whose lines are errors, from earlier runs and this one."""
        return self.resumed.failed + self.failed

    def exit_status(self) -> int:
        if not self.complete:
            return EXIT_UNFINISHED
        return EXIT_FAILED_ITEMS if self.failed_keys else EXIT_DONE

    def summary(self, output: Path, concurrency: AdaptiveConcurrency, shard: Shard) -> dict[str, Any]:
        seconds = time.monotonic() - self.started
        return {
            "output": str(output),
            "complete": self.complete,
            "failed": len(self.failed_keys),
            **({"shard": str(shard), "other_shards": self.other_shards} if shard.count > 1 else {}),
            "items": self.items,
            "input_read_to_end": self.read_all,
            "translated": self.resumed.translated + self.translated,
            "errors": dict(sorted((Counter(self.resumed.errors) + self.errors).items())),
            "without_line": self.items - self.done_in_input,
            "without_line_by_code": dict(sorted(self.missing.items())),
            "duplicate_ids": len(self.duplicates),
            "resumed": len(self.resumed.keys),
            "retried_failed": self.resumed.retried,
            "torn_line_dropped": self.resumed.dropped_bytes > 0,
            "written": self.written,
            "segments": self.segments,
            "seconds": round(seconds, 3),
            "items_per_second": round(self.written / seconds, 3) if seconds > 0 else 0.0,
            "segments_per_second": round(self.segments / seconds, 3) if seconds > 0 else 0.0,
            # Calls in flight: the most the run allowed, and what it allowed at the end.
            "concurrency": {"highest": concurrency.highest, "last": int(concurrency.limit)},
            **({"stopped": self.stopped} if self.stopped else {}),
        }


class _Progress:
    """Items done, segments a second and the time left, on stderr (only on a terminal)."""

    def __init__(self, total: int | None) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=total, unit="item", file=sys.stderr, dynamic_ncols=True)

    def update(self, tally: Tally) -> None:
        rate = tally.segments / max(time.monotonic() - tally.started, 1e-9)
        self._bar.set_postfix_str(f"{rate:.1f} segments/s", refresh=False)
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()


class Run:
    """One ``tarjama batch`` run: the input read lazily, each item's line written as it ends."""

    def __init__(self, options: BatchOptions) -> None:
        self.options = options
        self.source = Path(options.input)
        self.output = Path(options.output)
        self.folder = options.input != STDIN and self.source.is_dir()
        self.journal = Journal(check_paths(self.source, self.output))
        self.jsonl = None if self.folder else JsonLines(self.source, options.id_field, options.text_field)
        self.tally = Tally()
        self.concurrency = AdaptiveConcurrency(maximum=options.concurrency)
        self.lines: dict[str, int] = {}  # key → input line of the items in flight, for their error lines
        self._seen: set[str] = set()
        self._failures = 0  # items in a row that found no server
        self.started = False  # the server answered: items are being sent
        self._progress: _Progress | None = None

    def open(self) -> None:
        """Open the output and read what it holds; refuse one that holds another shard's items."""
        try:
            self.tally.resumed = self.journal.open(retry_failed=self.options.retry_failed)
        except BaseException:
            self.close()
            raise
        shard = self.options.shard
        foreign = sum(1 for key in self.tally.resumed.keys if not shard.holds(key))
        if foreign:
            self.close()
            raise ArchiveError(
                f"{self.journal.path} holds {foreign} items of other shards than {shard}: each shard needs an "
                "output of its own (e.g. --output part-$(JOB_COMPLETION_INDEX).jsonl), and the same shard count "
                "on every run"
            )

    def close(self) -> None:
        self.journal.close()
        if self.jsonl is not None:
            self.jsonl.close()

    def _read(self) -> Iterator[Entry]:
        if self.jsonl is not None:
            return self.jsonl.entries()
        return read_folder(self.source, self.options.encoding)

    def entries(self) -> Iterator[BatchItem]:
        """The items still to send; rejected entries get their line here, repeated ids are skipped."""
        for entry in self._read():
            value = entry.value
            key = value.key if isinstance(value, Rejected) else item_key(value.id)
            if not self.options.shard.holds(key):
                self.tally.other_shards += 1
                continue
            if key in self._seen:
                self.tally.duplicates.append(entry.line)
                continue
            self._seen.add(key)
            self.tally.items += 1
            if key in self.tally.resumed.keys:
                self.tally.done_in_input += 1
            elif isinstance(value, Rejected):
                self._write(rejected_record(value), error=INVALID_INPUT, key=key)
            else:
                if entry.line:
                    self.lines[key] = entry.line
                yield value
        self.tally.read_all = True

    def _write(self, line: dict[str, Any], *, error: str = "", key: str = "") -> None:
        self.journal.write(line)
        self.tally.done_in_input += 1
        if error:
            self.tally.errors[error] += 1
            self.tally.failed.append(key)
        else:
            self.tally.translated += 1
        if self._progress:
            self._progress.update(self.tally)

    def finish(self, result: BatchResult) -> bool:
        """Write ``result``'s line (or count it as missing); False when the run must stop."""
        if not belongs_to_item(result):
            assert result.error is not None and result.error.code is not None
            self.tally.missing[result.error.code.name] += 1
            if self._progress:
                self._progress.update(self.tally)
            if result.error.code in STOP_CODES:
                self.tally.stopped = f"{result.error.code.name}: {result.error.details}"
                return False
            self._failures += 1
            if self._failures >= MAX_FAILURES_IN_A_ROW:
                self.tally.stopped = (
                    f"{self._failures} items in a row failed (last: {result.error.code.name}: "
                    f"{result.error.details}); run again once the servers answer"
                )
                return False
            return True
        self._failures = 0
        line = record(result)
        key = item_key(result.id)
        number = self.lines.pop(key, 0)
        if result.error is not None:
            if number:  # beside the id, where rejected entries have it
                line = {"id": line["id"], "line": number, "error": line["error"]}
            self._write(line, error=line["error"]["code"], key=key)
            return True
        assert result.result is not None
        translation = result.result.translations[0]
        self.tally.segments += len(translation.segments)
        if self.folder:
            write_mirrored(self.output, str(result.id), translation.text)
        self._write(line)
        return True

    async def run(self, config: ConnectionConfig) -> None:
        """The calls, once the journal is open (``run`` opens and closes it)."""
        try:
            async with AsyncTarjamaClient.from_config(config) as client:
                await self._check_server(client)
                self.started = True
                self.tally.started = time.monotonic()
                if sys.stderr.isatty():
                    self._progress = _Progress(self._items_to_send())
                options = self.options
                results = client.translate_many(
                    self.entries(),
                    concurrency=self.concurrency,
                    source_language=options.source_language,
                    target_language=options.target_language,
                    options=DecodingOptions(num_beams=options.beams),
                    glossary=options.glossary,
                    summarize=options.summarize,
                    summary_language=options.summary_language,
                    style=options.style,
                )
                async with contextlib.aclosing(results):
                    async for result in results:
                        if not self.finish(result):
                            break
        finally:
            if self._progress:
                self._progress.close()

    def _items_to_send(self) -> int | None:
        """About how many items are left, for the progress bar (None when unknown)."""
        entries = count_entries(self.source)
        if entries is None:
            return None
        return max(entries // self.options.shard.count - len(self.tally.resumed.keys), 0)

    async def _check_server(self, client: AsyncTarjamaClient) -> None:
        """Reachable, the token accepted, and a summarizer there when asked: before any item."""
        models = await client.list_models()
        if any(model.untrained for model in models):
            print(UNTRAINED_WARNING, file=sys.stderr)
        if self.options.summarize and not any(model.task == "summarization" for model in models):
            raise ArchiveError("--summarize: the server has no summarization model (it runs with summarization off)")


def run(config: ConnectionConfig, options: BatchOptions) -> int:
    """Run the batch; print the JSON summary on stdout once it has started (also when it is
    interrupted), and on stderr the items that failed and how to send them again. Exit status:
    0 every item translated; 1 items left without a line (run again to resume); 3 every item
    has a line but some are errors; 130/143 on SIGINT/SIGTERM."""
    if options.retries:
        config = dataclasses.replace(config, retry=BATCH_RETRY)
    batch = Run(options)
    batch.open()
    status = EXIT_UNFINISHED
    try:
        status = asyncio.run(_main(batch, config))
    except KeyboardInterrupt:
        batch.tally.stopped = "interrupted (SIGINT)"
        status = 130
    finally:
        batch.close()
        if batch.started:
            _report(batch)
    return status


def _report(batch: Run) -> None:
    duplicates = batch.tally.duplicates
    if duplicates:
        shown = ", ".join(str(line) for line in duplicates[:DUPLICATES_SHOWN])
        more = " …" if len(duplicates) > DUPLICATES_SHOWN else ""
        entries = "entry repeats" if len(duplicates) == 1 else "entries repeat"
        print(
            f"tarjama: {len(duplicates)} input {entries} an earlier id, skipped "
            f"(the first entry with an id is the one translated): line {shown}{more}",
            file=sys.stderr,
        )
    failed = batch.tally.failed_keys
    if failed:
        shown = ", ".join(failed[:FAILED_SHOWN])
        more = f" and {len(failed) - FAILED_SHOWN} more" if len(failed) > FAILED_SHOWN else ""
        items = "item failed" if len(failed) == 1 else "items failed"
        print(
            f"tarjama: {len(failed)} {items}, each with its error in {batch.journal.path}: {shown}{more}. "
            f"Fix them in the input, then run the same command with --retry-failed to send them again.",
            file=sys.stderr,
        )
    summary = batch.tally.summary(batch.output, batch.concurrency, batch.options.shard)
    json.dump(summary, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    sys.stdout.flush()


async def _main(batch: Run, config: ConnectionConfig) -> int:
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    terminated = False

    def terminate() -> None:
        nonlocal terminated
        terminated = True
        task.cancel()

    with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows, nor off the main thread
        loop.add_signal_handler(signal.SIGTERM, terminate)
    try:
        await batch.run(config)
    except asyncio.CancelledError:
        if not terminated:
            raise
        batch.tally.stopped = "terminated (SIGTERM)"
        return 143
    return batch.tally.exit_status()
