"""Server lifecycle, and the one place that wires everything: bind, health NOT_SERVING,
load the models, calibrate, build the schedulers and pipelines, SERVING, graceful stop.

Entry point ``tarjama-server`` (also ``python -m tarjama_server.app``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from tarjama_client.v1 import tarjama_pb2 as pb
from tarjama_client.v1 import tarjama_pb2_grpc as pb_grpc

from . import metrics
from .core.access import Gate
from .core.admission import Calibration
from .core.cache import ResultCache
from .core.desk import Desk, DeskLimits
from .core.limits import RequestLimits, SchedulerLimits
from .core.model_worker import calibrate
from .core.pipelines import Pipelines
from .core.recipes import SummarizationDefaults, TranslationDefaults
from .core.scheduler import Scheduler
from .core.summarization import Summarizer
from .core.translation import Translator
from .core.workers import WorkerSlots
from .engines.base import GenerationParams, Seq2SeqEngine
from .errors import EngineFault, ModelUnavailableError, StoreUnavailableError
from .loading.loader import load_engines
from .logs import configure_logging
from .settings import Settings, load_settings, split_list
from .store import database_url, open_store, redacted
from .store.access import SqlAccessStore
from .transport.calls import MAX_MESSAGE_BYTES, ServerState
from .transport.grpc_service import TarjamaServicer
from .transport.http_connections import ConnectionBounds
from .transport.http_service import HttpServer, HttpService
from .transport.interceptors import DecodeErrorInterceptor, KeyInterceptor

log = logging.getLogger("tarjama_server")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["TarjamaService"].full_name

EngineLoader = Callable[[Settings], tuple[Seq2SeqEngine, Seq2SeqEngine | None]]
T = TypeVar("T")
# Exit status after a hung engine or a dead inference thread: the orchestrator restarts the process.
ENGINE_FAULT_EXIT = 3
LOADER_THREAD = "tarjama-loader"


class TarjamaServer:
    """One server process: ``start()`` binds and reports NOT_SERVING, ``load_models()``
    flips health to SERVING, ``stop()`` drains. Tests drive these directly."""

    def __init__(self, settings: Settings, engine_loader: EngineLoader = load_engines) -> None:
        self.settings = settings
        self._engine_loader = engine_loader
        self.state = ServerState()
        self.servicer = TarjamaServicer(self.state)
        self.health = health.aio.HealthServicer()
        # Inference threads, one per model worker (made once the engines say how many): model
        # calls run off the event loop, N batches at once, shared by both models.
        self._executor: ThreadPoolExecutor | None = None
        self.schedulers: list[Scheduler] = []
        self._metrics_server: Any = None
        # What loading is doing now, and since when (on the monotonic clock): what a stop would cut.
        self.loading_step = ""
        self.loading_since = 0.0
        # Set when an engine hung or the inference thread died: the process must be restarted.
        self.fault: EngineFault | None = None
        self.faulted = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()
        self._fault_watchers: set[asyncio.Task[None]] = set()  # one per scheduler, till the stop
        # Loading and calibration run on one daemon thread that lives as long as the process.
        self._loader_jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._loader: threading.Thread | None = None
        # --auth-token is an admin key; the database's keys join when the desk opens (open_desk).
        self.state.gate = Gate(settings.auth_token)
        interceptors: list[grpc.aio.ServerInterceptor] = [
            KeyInterceptor(lambda: self.state.gate),
            DecodeErrorInterceptor(),  # after the key check: no key, no parsing
        ]
        options: list[tuple[str, int]] = [
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            # One process per port: with SO_REUSEPORT (gRPC's default) a second
            # server binds the same port and silently takes half the calls.
            ("grpc.so_reuseport", 0),
        ]
        if settings.max_connection_age_seconds > 0:
            # GOAWAY after this age; with no max_connection_age_grace, calls in flight run to the end.
            options.append(("grpc.max_connection_age_ms", int(settings.max_connection_age_seconds * 1000)))
        self.server = grpc.aio.server(
            interceptors=interceptors,
            maximum_concurrent_rpcs=settings.max_concurrent_rpcs or None,
            options=options,
        )
        pb_grpc.add_TarjamaServiceServicer_to_server(self.servicer, self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection((SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), self.server)
        self.port = 0
        self.http: HttpServer | None = None
        if settings.http_port:
            service = HttpService(
                self.state,
                cors_origins=split_list(settings.http_cors_origins),
                max_calls=settings.http_max_calls,
            )
            self.http = HttpServer(
                service.app,
                settings.host,
                settings.http_port,
                tls_cert=settings.tls_cert,
                tls_key=settings.tls_key,
                bounds=ConnectionBounds(settings.http_header_timeout_seconds, settings.http_max_connections),
                keep_alive=settings.http_keep_alive_seconds,
            )

    async def _set_health(self, status: int) -> None:
        for name in ("", SERVICE_NAME):
            await self.health.set(name, status)

    async def open_desk(self) -> None:
        """Open the desk's database (``--database-url``) and migrate it: before any port is bound,
        so a server whose database is wrong or unreachable does not start."""
        settings = self.settings
        url = database_url(settings.database_url, settings.data_path)
        if url is None:
            log.info("the desk is off (--database-url none): glossary and memory calls get FAILED_PRECONDITION")
            return
        store = await open_store(url)
        self.state.desk = Desk(store, DeskLimits(min_similarity=settings.memory_min_similarity))
        log.info("desk: %s database %s, schema up to date", store.kind, redacted(url))
        # The keys live in the desk's database: read now, then every --key-refresh-seconds.
        self.state.gate = Gate(settings.auth_token, SqlAccessStore(store), refresh_seconds=settings.key_refresh_seconds)
        await self.state.gate.start()

    async def start(self) -> int:
        settings = self.settings
        if self.state.desk is None:
            await self.open_desk()
        if settings.tls_cert or settings.tls_key:
            if not (settings.tls_cert and settings.tls_key):
                raise ValueError("TLS needs both --tls-cert and --tls-key")
            credentials = grpc.ssl_server_credentials(
                [(Path(settings.tls_key).read_bytes(), Path(settings.tls_cert).read_bytes())]
            )
            self.port = self.server.add_secure_port(settings.address, credentials)
        else:
            try:
                self.port = self.server.add_insecure_port(settings.address)
            except RuntimeError as error:  # grpc's "Failed to bind": the port is taken
                raise OSError(f"gRPC port {settings.address} is in use or cannot be bound ({error})") from error
        if not self.port:
            raise OSError(f"gRPC port {settings.address} is in use or cannot be bound")
        await self._set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.start()
        if self.http is not None:
            try:
                await self.http.start()
            except OSError:
                await self.server.stop(0)
                raise
        if settings.metrics_port:
            from prometheus_client import start_http_server

            loop = asyncio.get_running_loop()
            metrics.ASYNCIO_TASKS.set_function(lambda: len(asyncio.all_tasks(loop)))
            metrics.THREADS.set_function(threading.active_count)
            try:
                self._metrics_server, _ = start_http_server(settings.metrics_port, addr=settings.host)
            except OSError as error:
                await self.server.stop(0)
                if self.http is not None:
                    await self.http.stop(0)
                raise OSError(
                    f"metrics port {settings.host}:{settings.metrics_port} is in use or cannot be bound ({error}); "
                    "choose another with --metrics-port, or 0 to disable metrics"
                ) from error
        log.info(
            "listening on %s:%d (%s)%s%s",
            settings.host,
            self.port,
            "TLS" if settings.tls_cert else "plaintext",
            f", HTTP (JSON API and the page) on {self.http_url}" if self.http else "",
            f", metrics on :{settings.metrics_port}/metrics" if settings.metrics_port else "",
        )
        return self.port

    async def _off_loop(self, step: str, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` on the loader thread, recorded as loading ``step``. A daemon thread,
        not the default executor: a download or conversion cut by SIGTERM is left behind at exit
        rather than waited for without a bound. One thread for the life of the process: when the
        thread that first ran torch exits, inference on the other threads ran 2 to 5 times slower
        (measured with bench/load.py, tiny models, 2 cores)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()

        def settle(outcome: Callable[[], None]) -> None:
            if not done.done():
                outcome()

        def work() -> None:
            try:
                result = function(*args)
            except BaseException as error:  # handed to the event loop, which decides
                failed = error
                with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
                    loop.call_soon_threadsafe(settle, lambda: done.set_exception(failed))
            else:
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(settle, lambda: done.set_result(result))

        self.loading_step, self.loading_since = step, time.monotonic()
        log.info("loading: %s", step)
        if self._loader is None:
            self._loader = threading.Thread(target=self._run_loader_jobs, name=LOADER_THREAD, daemon=True)
            self._loader.start()
        self._loader_jobs.put(work)
        return await done

    def _run_loader_jobs(self) -> None:
        while True:
            self._loader_jobs.get()()

    def _watch_faults(self, scheduler: Scheduler) -> None:
        """Subscribe to ``scheduler``'s fault: when it comes, the whole server stops serving."""

        async def watch() -> None:
            self._engine_fault(await scheduler.wait_fault())

        task = asyncio.get_running_loop().create_task(watch(), name=f"faults-{scheduler.engine.info.task.value}")
        self._fault_watchers.add(task)
        task.add_done_callback(self._fault_watchers.discard)

    def _engine_fault(self, fault: EngineFault) -> None:
        """An engine hung or the inference thread died (a scheduler's report): every model on that
        thread stops serving, health turns NOT_SERVING, and ``run`` exits non-zero."""
        if self.fault is not None:
            return
        self.fault = fault
        self.state.faulted = True
        log.critical(
            "%s: health NOT_SERVING; stopping, exit status %d so that the process is restarted",
            fault,
            ENGINE_FAULT_EXIT,
        )
        for scheduler in self.schedulers:
            scheduler.fail(fault)
        metrics.MODELS_READY.set(0)
        task = asyncio.get_running_loop().create_task(self._set_health(health_pb2.HealthCheckResponse.NOT_SERVING))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        self.faulted.set()

    @property
    def http_url(self) -> str:
        """The page's address (the JSON API is under it); "" when HTTP is disabled."""
        if self.http is None:
            return ""
        host = self.settings.host.strip("[]")
        host = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, f"[{host}]" if ":" in host else host)
        return f"{'https' if self.settings.tls_cert else 'http'}://{host}:{self.http.port}/"

    def _calibration(self, engine: Seq2SeqEngine, job: tuple[str, GenerationParams]) -> Calibration:
        """Where admission's estimates start (blocking): the assumed rate, or one full batch of
        ``job`` measured (on whatever engine the loader gave, a test's wrapper too)."""
        if self.settings.assumed_tokens_per_second:
            return Calibration(tokens_per_second=self.settings.assumed_tokens_per_second)
        text, params = job
        return calibrate(engine, text, params, self.settings.max_batch_size)

    async def load_models(self) -> None:
        settings = self.settings
        models = f"translation {settings.translation_model}" + (
            f", summarization {settings.summarization_model}" if settings.summarization_enabled else ""
        )
        translation, summarization = await self._off_loop(
            f"loading the models ({models}: download, conversion, weights)", self._engine_loader, settings
        )
        workers = max(engine.info.workers for engine in (translation, summarization) if engine is not None)
        executor = self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inference")
        slots = WorkerSlots(workers)
        translation_defaults = TranslationDefaults(
            num_beams=settings.num_beams,
            max_segment_tokens=settings.max_segment_tokens,
            repetition_guard=settings.repetition_guard,
        )
        summarization_defaults = SummarizationDefaults(num_beams=settings.summary_num_beams)
        limits = SchedulerLimits(
            max_batch_size=settings.max_batch_size,
            max_wait_seconds=settings.batch_wait_ms / 1000,
            max_queue_seconds=settings.max_queue_seconds,
            max_queued_jobs=settings.max_queued_jobs,
            deadline_margin=settings.deadline_margin,
            request_share=settings.request_batch_share,
            max_batch_tokens=settings.max_batch_tokens,
            engine_timeout_seconds=settings.engine_timeout_seconds,
        )
        request_limits = RequestLimits(max_texts=settings.max_texts, max_text_chars=settings.max_text_chars)
        cache = ResultCache[object](settings.cache_bytes)

        async def scheduler(engine: Seq2SeqEngine, job: tuple[str, GenerationParams]) -> Scheduler:
            calibration = await self._off_loop(
                f"calibrating the {engine.info.task.value} model (one batch)", self._calibration, engine, job
            )
            # Both models run on the same workers (slots): each scheduler counts the other's queue as ahead.
            created = Scheduler(engine, executor, limits, calibration=calibration, slots=slots)
            created.start()
            self.schedulers.append(created)
            self._watch_faults(created)
            return created

        translator = Translator(
            await scheduler(translation, translation_defaults.calibration_job()),
            defaults=translation_defaults,
            limits=request_limits,
            cache=cache,
            desk=self.state.desk,
        )
        summarizer = (
            Summarizer(
                await scheduler(summarization, summarization_defaults.calibration_job()),
                defaults=summarization_defaults,
                limits=request_limits,
                translator=translator,
                cache=cache,
            )
            if summarization
            else None
        )
        self.state.pipelines = Pipelines(translator, summarizer)
        self.loading_step = ""
        await self._set_health(health_pb2.HealthCheckResponse.SERVING)
        metrics.MODELS_READY.set(1)
        log.info("ready: serving %s", ", ".join(info.label for info in self.state.pipelines.infos))

    async def stop(self, grace: float | None = None) -> dict[str, int]:
        """Health NOT_SERVING, refuse new calls (UNAVAILABLE), let accepted ones finish
        within the grace period, cut the rest. Returns what happened to the calls in flight."""
        await self.health.enter_graceful_shutdown()
        metrics.MODELS_READY.set(0)
        grace = self.settings.shutdown_grace_seconds if grace is None else grace
        stopping = [asyncio.ensure_future(self.server.stop(grace))]
        if self.http is not None:
            stopping.append(asyncio.ensure_future(self.http.stop(grace)))  # later HTTP calls get UNAVAILABLE
        await asyncio.sleep(0)  # gRPC has stopped taking calls: the calls in flight now are all there will be
        in_flight = self.state.start_draining()
        await asyncio.gather(*stopping)
        outcome = self.state.drain_outcome()
        log.info(
            "stopped: %d calls in flight at the stop; %d finished (%d OK), %d cut at the end of the grace period",
            in_flight,
            outcome["finished"],
            outcome["ok"],
            outcome["cut"],
        )
        for watcher in list(self._fault_watchers):
            watcher.cancel()
        for scheduler in self.schedulers:
            await scheduler.stop()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
        await self.state.gate.stop()  # its charges written first
        if self.state.desk is not None:
            await self.state.desk.store.close()
        return {"in_flight": in_flight, **outcome}


class UnjoinedExecutor(ThreadPoolExecutor):
    """The event loop's default executor (planning and other CPU work off the loop), whose
    shutdown never waits: ``asyncio.run`` shuts the default executor down waiting for every
    thread, so one thread stuck in a long call (a tokenizer on a huge text) would hold the
    process past its grace period. ``exit_process`` gives such threads a bounded wait instead."""

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=False, cancel_futures=True)


async def run(settings: Settings, engine_loader: EngineLoader = load_engines) -> int:
    """Serve until SIGTERM or SIGINT (exit status 0), a failed start (2) or an engine fault (3)."""
    asyncio.get_running_loop().set_default_executor(UnjoinedExecutor(thread_name_prefix="off-loop"))
    server = TarjamaServer(settings, engine_loader)
    try:
        await server.start()
    except (OSError, RuntimeError, ValueError, StoreUnavailableError) as error:
        # OSError names the port that failed (gRPC or metrics); ValueError: bad TLS settings or
        # --database-url; StoreUnavailableError: the desk's database cannot be reached.
        log.error("cannot start: %s", error)
        return 2
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop_requested.set)
    loading = asyncio.create_task(server.load_models())
    stopping = asyncio.create_task(stop_requested.wait())
    faulted = asyncio.create_task(server.faulted.wait())
    await asyncio.wait({loading, stopping, faulted}, return_when=asyncio.FIRST_COMPLETED)
    exit_code = 0
    if not loading.done():
        loading.cancel()
        # The loading thread cannot be interrupted: it is left behind, and the process exits
        # within the grace period rather than waiting for a download or conversion to end.
        log.warning(
            "stop requested while loading: cut %s after %.1f s; not waiting for it",
            server.loading_step or "loading",
            time.monotonic() - server.loading_since,
        )
    elif loading.exception() is not None:
        load_error = loading.exception()
        if isinstance(load_error, ModelUnavailableError):
            log.error("cannot start: %s", load_error)
        else:
            log.error("cannot start: model loading failed", exc_info=load_error)
        exit_code = 2
    else:
        await asyncio.wait({stopping, faulted}, return_when=asyncio.FIRST_COMPLETED)
    if server.fault is not None:
        exit_code = ENGINE_FAULT_EXIT
    for waiting in (stopping, faulted):
        waiting.cancel()
    log.info("shutting down")
    await server.stop()
    return exit_code


def exit_process(code: int, *, wait: float = 2.0) -> None:
    """Exit with ``code``. A thread that cannot end (a hung model call, a download cut by SIGTERM)
    is given ``wait`` seconds, then left behind: the interpreter would otherwise wait for it forever."""
    deadline = time.monotonic() + wait
    for thread in threading.enumerate():
        if thread is threading.main_thread() or thread.daemon:  # the interpreter never waits for a daemon
            continue
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            log.warning("exiting with status %d without waiting for thread %s", code, thread.name)
            logging.shutdown()
            os._exit(code)
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> None:
    settings = load_settings(argv)
    configure_logging(settings.log_level, settings.log_format)
    exit_process(asyncio.run(run(settings)))


if __name__ == "__main__":
    main()
