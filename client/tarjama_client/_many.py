"""``translate_many``: many items through one client, as many in flight as the servers take.

The decisions are ``concurrency.AdaptiveConcurrency``'s (a pure policy); this module is the
machinery around it: one asyncio task per item in flight, results yielded as they finish.
The sync client runs the same code on an event loop in a thread of its own (``in_thread``).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from ._convert import check_style
from ._retry import AttemptObserver
from .concurrency import AdaptiveConcurrency
from .errors import InvalidRequestError, OverloadedError, TarjamaError
from .types import BatchItem, BatchResult, DecodingOptions, SummarizeResult, TranslateResult

DEFAULT_CONCURRENCY = 16
# The longest the sync client waits for its event-loop thread to end once the caller stops reading.
THREAD_JOIN_SECONDS = 30.0
_END = object()  # no more items; no more results


@dataclass(frozen=True)
class ManyOptions:
    """What every item of a ``translate_many`` call shares (an item's own fields win)."""

    source_language: str = ""
    target_language: str = ""
    options: DecodingOptions | None = None
    mime_type: str = ""
    glossary: Mapping[str, str] | None = None
    summarize: bool = False
    summary_language: str = ""
    style: str = ""
    timeout: float | None = None

    def __post_init__(self) -> None:
        try:
            check_style(self.style)
        except InvalidRequestError as error:
            raise ValueError(error.details) from None


class Calls(Protocol):
    """The public calls ``translate_many`` makes: ``AsyncTarjamaClient``'s, seen through
    ``on_attempt`` (how each attempt ended, for the concurrency policy)."""

    async def translate(
        self,
        texts: str,
        *,
        source_language: str = "",
        target_language: str = "",
        options: DecodingOptions | None = None,
        mime_type: str = "",
        glossary: Mapping[str, str] | None = None,
        timeout: float | None = None,
        on_attempt: AttemptObserver | None = None,
    ) -> TranslateResult: ...

    async def summarize(
        self,
        text: str,
        *,
        source_language: str = "",
        summary_language: str = "",
        style: str = "",
        timeout: float | None = None,
        on_attempt: AttemptObserver | None = None,
    ) -> SummarizeResult: ...


def as_item(value: BatchItem | str, position: int) -> BatchItem:
    """An item, or a bare text (its id is then its position, from 0)."""
    return value if isinstance(value, BatchItem) else BatchItem(id=position, text=value)


async def translate_many(
    client: Calls,
    items: Iterable[BatchItem | str],
    concurrency: int | AdaptiveConcurrency,
    shared: ManyOptions,
) -> AsyncGenerator[BatchResult, None]:
    """Each item's ``BatchResult`` as it finishes (not in input order). ``items`` is read
    lazily, one item each time a call may start."""
    policy = concurrency if isinstance(concurrency, AdaptiveConcurrency) else AdaptiveConcurrency(maximum=concurrency)
    loop = asyncio.get_running_loop()
    source = iter(items)
    position = 0
    exhausted = False
    pending: set[asyncio.Task[BatchResult]] = set()
    try:
        while True:
            while not exhausted and len(pending) < policy.allowed(loop.time()):
                value = next(source, _END)
                if value is _END:
                    exhausted = True
                else:
                    item = as_item(value, position)  # type: ignore[arg-type]
                    position += 1
                    pending.add(asyncio.create_task(_one(client, item, shared, policy)))
            if not pending and exhausted:
                return
            # While a pushback lasts, wake when it ends to start the next call; otherwise on a result.
            pause = policy.wait(loop.time()) if not exhausted else 0.0
            if not pending:
                await asyncio.sleep(pause)
                continue
            done, pending = await asyncio.wait(pending, timeout=pause or None, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                yield task.result()
    finally:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def _one(client: Calls, item: BatchItem, shared: ManyOptions, policy: AdaptiveConcurrency) -> BatchResult:
    loop = asyncio.get_running_loop()
    started = loop.time()
    size = float(len(item.text))

    def observe(error: TarjamaError | None, seconds: float) -> None:
        if error is None:
            policy.on_success(loop.time(), seconds, size)
        elif isinstance(error, OverloadedError):
            policy.on_overload(loop.time(), error.retry_after)

    source_language = item.source_language or shared.source_language
    try:
        result = await client.translate(
            item.text,
            source_language=source_language,
            target_language=shared.target_language,
            options=shared.options,
            mime_type=item.mime_type or shared.mime_type,
            glossary=item.glossary if item.glossary is not None else shared.glossary,
            timeout=shared.timeout,
            on_attempt=observe,
        )
        summary = None
        if shared.summarize:
            summary = await client.summarize(
                item.text,
                source_language=source_language,
                summary_language=shared.summary_language,
                style=shared.style,
                timeout=shared.timeout,
                on_attempt=observe,
            )
    except TarjamaError as error:
        return BatchResult(item=item, error=error, seconds=loop.time() - started)
    return BatchResult(item=item, result=result, summary=summary, seconds=loop.time() - started)


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def in_thread(
    open_client: Callable[[], AbstractAsyncContextManager[Calls]],
    items: Iterable[BatchItem | str],
    concurrency: int | AdaptiveConcurrency,
    shared: ManyOptions,
) -> Iterator[BatchResult]:
    """``translate_many`` for synchronous callers: the asyncio version runs on an event loop
    in a thread of its own (on its own channel) and hands each result over a queue. When the
    caller stops reading, the calls in flight are cancelled and the thread ends."""
    results: queue.Queue[Any] = queue.Queue()

    async def pump() -> None:
        try:
            async with open_client() as client:
                async for result in translate_many(client, items, concurrency, shared):
                    results.put(result)
        except asyncio.CancelledError:
            raise
        except BaseException as error:  # handed to the caller's thread, raised there
            results.put(_Failed(error))
        finally:
            results.put(_END)

    loop = asyncio.new_event_loop()
    task = loop.create_task(pump())
    thread = threading.Thread(target=_run_until_complete, args=(loop, task), name="tarjama-many", daemon=True)
    thread.start()
    try:
        while (value := results.get()) is not _END:
            if isinstance(value, _Failed):
                raise value.error
            yield value
    finally:
        if thread.is_alive():
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:  # the loop closed meanwhile
                pass
        thread.join(THREAD_JOIN_SECONDS)


def _run_until_complete(loop: asyncio.AbstractEventLoop, task: asyncio.Task[None]) -> None:
    try:
        loop.run_until_complete(task)
    except asyncio.CancelledError:
        pass
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
