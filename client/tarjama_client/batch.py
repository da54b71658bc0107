"""``tarjama batch INPUT --output OUTPUT``: translate an archive, resumably, on
``AsyncTarjamaClient.translate_many``.

Every item gets one line in the output (its translation, or its error); a run that stops for
any reason, SIGKILL included, is resumed by running the same command again: it sends only
the items without a line. The files are ``archive.py``'s; this module runs the calls, shows
progress on a terminal and prints a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from ._channel import ConnectionConfig
from ._retry import RetryPolicy
from .aio import AsyncTarjamaClient
from .archive import (
    INVALID_INPUT,
    ArchiveError,
    Journal,
    Rejected,
    Resumed,
    belongs_to_item,
    check_fields,
    check_paths,
    count_entries,
    item_key,
    read_input,
    record,
    rejected_record,
    write_mirrored,
)
from .concurrency import AdaptiveConcurrency
from .types import BatchItem, BatchResult, DecodingOptions

# A long run outlives a server restart: retry UNAVAILABLE and RESOURCE_EXHAUSTED longer than
# one interactive call would (about a minute at most, always within --timeout).
BATCH_RETRY = RetryPolicy(max_attempts=8, max_backoff=30.0)
# Stop, rather than fail every remaining item, after this many items in a row found no server.
MAX_FAILURES_IN_A_ROW = 20
# Codes that no other item would escape: stop at once.
STOP_CODES = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED})
DUPLICATES_SHOWN = 5


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
    segments: int = 0
    started: float = field(default_factory=time.monotonic)
    stopped: str = ""  # why the run stopped before the end, if it did

    @property
    def written(self) -> int:
        return self.translated + sum(self.errors.values())

    @property
    def complete(self) -> bool:
        return self.read_all and not self.stopped and self.done_in_input == self.items

    def summary(self, output: Path, concurrency: AdaptiveConcurrency) -> dict[str, Any]:
        seconds = time.monotonic() - self.started
        return {
            "output": str(output),
            "complete": self.complete,
            "items": self.items,
            "input_read_to_end": self.read_all,
            "translated": self.resumed.translated + self.translated,
            "errors": dict(sorted((Counter(self.resumed.errors) + self.errors).items())),
            "without_line": self.items - self.done_in_input,
            "without_line_by_code": dict(sorted(self.missing.items())),
            "duplicate_ids": len(self.duplicates),
            "resumed": len(self.resumed.keys),
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

    def __init__(self, total: int) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=max(total, 0), unit="item", file=sys.stderr, dynamic_ncols=True)

    def update(self, tally: Tally) -> None:
        rate = tally.segments / max(time.monotonic() - tally.started, 1e-9)
        self._bar.set_postfix_str(f"{rate:.1f} segments/s", refresh=False)
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()


class Run:
    """One ``tarjama batch`` run: the input read lazily, each item's line written as it ends."""

    def __init__(self, args: argparse.Namespace, glossary: dict[str, str] | None) -> None:
        self.args = args
        self.glossary = glossary
        self.source = Path(args.input)
        self.output = Path(args.output)
        self.folder = self.source.is_dir()
        self.journal = Journal(check_paths(self.source, self.output))
        if not self.folder:
            check_fields(self.source, args.id_field, args.text_field)
        self.tally = Tally()
        self.concurrency = AdaptiveConcurrency(maximum=args.concurrency)
        self.lines: dict[str, int] = {}  # key → input line of the items in flight, for their error lines
        self._seen: set[str] = set()
        self._failures = 0  # items in a row that found no server
        self.started = False  # the server answered: items are being sent
        self._progress: _Progress | None = None

    def entries(self) -> Iterator[BatchItem]:
        """The items still to send; rejected entries get their line here, repeated ids are skipped."""
        for entry in read_input(
            self.source, id_field=self.args.id_field, text_field=self.args.text_field, encoding=self.args.encoding
        ):
            value = entry.value
            key = value.key if isinstance(value, Rejected) else item_key(value.id)
            if key in self._seen:
                self.tally.duplicates.append(entry.line)
                continue
            self._seen.add(key)
            self.tally.items += 1
            if key in self.tally.resumed.keys:
                self.tally.done_in_input += 1
            elif isinstance(value, Rejected):
                self._write(rejected_record(value), error=INVALID_INPUT)
            else:
                if entry.line:
                    self.lines[key] = entry.line
                yield value
        self.tally.read_all = True

    def _write(self, line: dict[str, Any], *, error: str = "") -> None:
        self.journal.write(line)
        self.tally.done_in_input += 1
        if error:
            self.tally.errors[error] += 1
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
        number = self.lines.pop(item_key(result.id), 0)
        if result.error is not None:
            if number:  # beside the id, where rejected entries have it
                line = {"id": line["id"], "line": number, "error": line["error"]}
            self._write(line, error=line["error"]["code"])
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
                    self._progress = _Progress(count_entries(self.source) - len(self.tally.resumed.keys))
                args = self.args
                results = client.translate_many(
                    self.entries(),
                    concurrency=self.concurrency,
                    source_language=args.source_language,
                    target_language=args.target_language,
                    options=DecodingOptions(num_beams=args.beams),
                    glossary=self.glossary,
                    summarize=args.summarize,
                    summary_language=args.summary_language,
                    style=args.style,
                )
                async with contextlib.aclosing(results):
                    async for result in results:
                        if not self.finish(result):
                            break
        finally:
            if self._progress:
                self._progress.close()

    async def _check_server(self, client: AsyncTarjamaClient) -> None:
        """Reachable, the token accepted, and a summarizer there when asked: before any item."""
        models = await client.list_models()
        if any(model.untrained for model in models):
            from .cli import UNTRAINED_WARNING

            print(UNTRAINED_WARNING, file=sys.stderr)
        if self.args.summarize and not any(model.task == "summarization" for model in models):
            raise ArchiveError("--summarize: the server has no summarization model (it runs with summarization off)")


def run(config: ConnectionConfig, args: argparse.Namespace, glossary: dict[str, str] | None) -> int:
    """Run the batch; print the JSON summary on stdout once it has started (also when it is
    interrupted). Exit status: 0 when every item has a line, 1 otherwise, 130/143 on SIGINT/SIGTERM."""
    if args.retries:
        config = dataclasses.replace(config, retry=BATCH_RETRY)
    batch = Run(args, glossary)
    batch.tally.resumed = batch.journal.open()
    status = 1
    try:
        status = asyncio.run(_main(batch, config))
    except KeyboardInterrupt:
        batch.tally.stopped = "interrupted (SIGINT)"
        status = 130
    finally:
        batch.journal.close()
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
    json.dump(batch.tally.summary(batch.output, batch.concurrency), sys.stdout, ensure_ascii=False, indent=2)
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
    return 0 if batch.tally.complete else 1
