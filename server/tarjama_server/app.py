"""Server lifecycle: bind, health NOT_SERVING, load models, SERVING, graceful stop.

Entry point ``tarjama-server``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from tarjama_client.v1 import tarjama_pb2 as pb
from tarjama_client.v1 import tarjama_pb2_grpc as pb_grpc

from . import metrics
from .batching import BatchScheduler, SchedulerLimits, calibrate
from .engines.base import GenerationParams, Seq2SeqEngine, Task
from .errors import ModelUnavailableError
from .service import DecodeErrorInterceptor, LoadedModels, TarjamaServicer
from .settings import Settings, load_settings, split_languages
from .summarization import SummarizationDefaults, Summarizer
from .translation import TranslationDefaults, Translator

log = logging.getLogger("tarjama_server")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["TarjamaService"].full_name
_HEALTH_PREFIX = "/grpc.health.v1.Health/"

# Before anything is measured, admit freely: the first batches measure the rate.
UNMEASURED_TOKENS_PER_SECOND = 1e6
# What one full calibration batch per model reads at start-up (news-like Arabic).
CALIBRATION_SENTENCE = "قالت وكالة الأنباء إن القوات الحكومية سيطرت على أحياء في شرق المدينة بعد معارك استمرت أسابيع."


class JsonFormatter(logging.Formatter):
    """One JSON object a line; the access log's fields become top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, log_format: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    elif log_format == "text":
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        raise SystemExit(f"--log-format must be text or json, got {log_format!r}")
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


class BearerTokenInterceptor(grpc.aio.ServerInterceptor):
    """Require ``authorization: Bearer <token>`` on every call but health checks
    (load balancers and Kubernetes probes carry no token)."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

        async def deny(request: Any, context: grpc.aio.ServicerContext) -> None:
            await context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                "missing or wrong token: send metadata 'authorization: Bearer <token>'",
            )

        self._deny: grpc.RpcMethodHandler[Any, None] = grpc.unary_unary_rpc_method_handler(deny)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        if handler_call_details.method.startswith(_HEALTH_PREFIX):
            return await continuation(handler_call_details)
        sent = dict(handler_call_details.invocation_metadata or ()).get("authorization", "")
        if isinstance(sent, str) and hmac.compare_digest(sent.encode(), self._expected):
            return await continuation(handler_call_details)
        return self._deny


def load_engines(settings: Settings) -> tuple[Seq2SeqEngine, Seq2SeqEngine | None]:
    """Resolve and load both models (blocking: run it off the event loop)."""
    import torch

    from .models import load_engine, pick_device, resolve_model

    if settings.torch_threads > 0:
        torch.set_num_threads(settings.torch_threads)
    device = pick_device(settings.device)
    threads = settings.torch_threads
    ctranslate2 = {"compute_type": settings.ctranslate2_compute_type, "converted_dir": settings.ctranslate2_dir}
    translation = load_engine(
        resolve_model(
            settings.translation_model,
            settings.translation_revision,
            cache_dir=settings.cache_dir,
            offline=settings.offline,
            flag="--translation-model",
        ),
        Task.TRANSLATION,
        split_languages(settings.translation_source_languages),
        split_languages(settings.translation_target_languages),
        device,
        engine=settings.translation_engine,
        threads=threads,
        **ctranslate2,
    )
    summarization = None
    if settings.summarization_enabled:
        languages = split_languages(settings.summarization_languages)
        summarization = load_engine(
            resolve_model(
                settings.summarization_model,
                settings.summarization_revision,
                cache_dir=settings.cache_dir,
                offline=settings.offline,
                flag="--summarization-model",
            ),
            Task.SUMMARIZATION,
            languages,
            languages,
            device,
            engine=settings.summarization_engine,
            threads=threads,
            **ctranslate2,
        )
    if not settings.assumed_tokens_per_second:
        # One full batch per model with the decoding defaults, so the first burst meets a measured rate.
        calibrate(
            translation,
            CALIBRATION_SENTENCE,
            GenerationParams(
                num_beams=settings.num_beams, max_new_tokens_ratio=TranslationDefaults.max_new_tokens_ratio
            ),
            settings.max_batch_size,
        )
        if summarization is not None:
            defaults = SummarizationDefaults(num_beams=settings.summary_num_beams)
            calibrate(
                summarization,
                " ".join([CALIBRATION_SENTENCE] * 8),
                GenerationParams(
                    num_beams=defaults.num_beams,
                    max_new_tokens=defaults.max_summary_tokens,
                    no_repeat_ngram_size=defaults.no_repeat_ngram_size,
                    length_penalty=defaults.length_penalty,
                ),
                settings.max_batch_size,
            )
    return translation, summarization


class TarjamaServer:
    """One server process: ``start()`` binds and reports NOT_SERVING, ``load_models()``
    flips health to SERVING, ``stop()`` drains. Tests drive these directly."""

    def __init__(
        self,
        settings: Settings,
        engine_loader: Callable[[Settings], tuple[Seq2SeqEngine, Seq2SeqEngine | None]] = load_engines,
    ) -> None:
        self.settings = settings
        self._engine_loader = engine_loader
        self.servicer = TarjamaServicer(settings)
        self.health = health.aio.HealthServicer()
        # One inference thread: model calls run one at a time, off the event loop,
        # and each uses every core through torch's intra-op threads.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference")
        self._schedulers: list[BatchScheduler] = []
        self._metrics_server: Any = None
        interceptors: list[grpc.aio.ServerInterceptor] = (
            [BearerTokenInterceptor(settings.auth_token)] if settings.auth_token else []
        )
        interceptors.append(DecodeErrorInterceptor())  # after auth: no token, no parsing
        options: list[tuple[str, int]] = [
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
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

    async def _set_health(self, status: int) -> None:
        for name in ("", SERVICE_NAME):
            await self.health.set(name, status)

    async def start(self) -> int:
        settings = self.settings
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
        if settings.metrics_port:
            from prometheus_client import start_http_server

            try:
                self._metrics_server, _ = start_http_server(settings.metrics_port, addr=settings.host)
            except OSError as error:
                await self.server.stop(0)
                raise OSError(
                    f"metrics port {settings.host}:{settings.metrics_port} is in use or cannot be bound ({error}); "
                    "choose another with --metrics-port, or 0 to disable metrics"
                ) from error
        log.info(
            "listening on %s:%d (%s)%s",
            settings.host,
            self.port,
            "TLS" if settings.tls_cert else "plaintext",
            f", metrics on :{settings.metrics_port}/metrics" if settings.metrics_port else "",
        )
        return self.port

    async def load_models(self) -> None:
        translation, summarization = await asyncio.to_thread(self._engine_loader, self.settings)
        settings = self.settings

        limits = SchedulerLimits(
            max_batch_size=settings.max_batch_size,
            max_wait_seconds=settings.batch_wait_ms / 1000,
            max_queue_seconds=settings.max_queue_seconds,
            max_queued_jobs=settings.max_queued_jobs,
            deadline_margin=settings.deadline_margin,
            request_share=settings.request_batch_share,
            max_batch_tokens=settings.max_batch_tokens,
        )

        def scheduler(engine: Seq2SeqEngine) -> BatchScheduler:
            # Both models run on the one inference thread: each scheduler counts the other's queue as ahead.
            created = BatchScheduler(
                engine,
                self._executor,
                limits,
                # Measured by load_engines; an engine it did not load starts from the assumed rate.
                tokens_per_second=settings.assumed_tokens_per_second or UNMEASURED_TOKENS_PER_SECOND,
                shared_with=self._schedulers,
            )
            created.start()
            self._schedulers.append(created)
            return created

        translator = Translator(
            scheduler(translation),
            TranslationDefaults(
                num_beams=settings.num_beams,
                max_segment_tokens=settings.max_segment_tokens,
                repetition_guard=settings.repetition_guard,
            ),
        )
        summarizer = (
            Summarizer(
                scheduler(summarization), SummarizationDefaults(num_beams=settings.summary_num_beams), translator
            )
            if summarization
            else None
        )
        self.servicer.models = LoadedModels(translator, summarizer)
        await self._set_health(health_pb2.HealthCheckResponse.SERVING)
        metrics.MODELS_READY.set(1)
        log.info("ready: serving %s", ", ".join(info.label for info in self.servicer.models.infos))

    async def stop(self, grace: float | None = None) -> dict[str, int]:
        """Health NOT_SERVING, refuse new calls (UNAVAILABLE), let accepted ones finish
        within the grace period, cut the rest. Returns what happened to the calls in flight."""
        await self.health.enter_graceful_shutdown()
        metrics.MODELS_READY.set(0)
        stopping = asyncio.ensure_future(
            self.server.stop(self.settings.shutdown_grace_seconds if grace is None else grace)
        )
        await asyncio.sleep(0)  # gRPC has stopped taking calls: the calls in flight now are all there will be
        in_flight = self.servicer.start_draining()
        await stopping
        outcome = self.servicer.drain_outcome()
        log.info(
            "stopped: %d calls in flight at the stop; %d finished (%d OK), %d cut at the end of the grace period",
            in_flight,
            outcome["finished"],
            outcome["ok"],
            outcome["cut"],
        )
        for scheduler in self._schedulers:
            await scheduler.stop()
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
        return {"in_flight": in_flight, **outcome}


async def run(settings: Settings) -> int:
    server = TarjamaServer(settings)
    try:
        await server.start()
    except (OSError, RuntimeError, ValueError) as error:
        # OSError names the port that failed (gRPC or metrics); ValueError: bad TLS settings.
        log.error("cannot start: %s", error)
        return 2
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop_requested.set)
    loading = asyncio.create_task(server.load_models())
    stopping = asyncio.create_task(stop_requested.wait())
    await asyncio.wait({loading, stopping}, return_when=asyncio.FIRST_COMPLETED)
    exit_code = 0
    if loading.done() and loading.exception() is not None:
        load_error = loading.exception()
        if isinstance(load_error, ModelUnavailableError):
            log.error("cannot start: %s", load_error)
        else:
            log.error("cannot start: model loading failed", exc_info=load_error)
        exit_code = 2
    elif loading.done():
        await stopping
    else:
        loading.cancel()
    log.info("shutting down")
    await server.stop()
    return exit_code


def main(argv: Sequence[str] | None = None) -> None:
    settings = load_settings(argv)
    configure_logging(settings.log_level, settings.log_format)
    sys.exit(asyncio.run(run(settings)))


if __name__ == "__main__":
    main()
