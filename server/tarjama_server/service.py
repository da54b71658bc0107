"""The gRPC transport: validate requests, convert protobuf ↔ engine dataclasses,
map errors to status codes. No model logic lives here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from tarjama_client.v1 import tarjama_pb2 as pb
from tarjama_client.v1 import tarjama_pb2_grpc as pb_grpc

from . import metrics
from .batching import RequestStats
from .engines.base import MAX_OUTPUT_TOKENS, ModelInfo, Task
from .errors import (
    DeadlineExpiredError,
    FeatureDisabledError,
    InvalidRequestError,
    NotReadyError,
    OverloadedError,
    UnsupportedLanguageError,
)
from .glossary import Glossary
from .languages import normalize_language
from .settings import Settings
from .summarization import Summarizer, SummaryResult
from .translation import TranslatedSegment, TranslationResult, Translator

log = logging.getLogger(__name__)
# One line per RPC; never the request's text (see _access_line).
access_log = logging.getLogger("tarjama_server.access")

REQUEST_ID_KEY = "x-request-id"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/=+-]{1,128}")

# The one table from engine errors to gRPC status codes; anything else is INTERNAL.
STATUS_BY_ERROR: tuple[tuple[type[Exception], grpc.StatusCode], ...] = (
    (UnsupportedLanguageError, grpc.StatusCode.INVALID_ARGUMENT),
    (InvalidRequestError, grpc.StatusCode.INVALID_ARGUMENT),
    (OverloadedError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (NotReadyError, grpc.StatusCode.UNAVAILABLE),
    (FeatureDisabledError, grpc.StatusCode.FAILED_PRECONDITION),
    (DeadlineExpiredError, grpc.StatusCode.DEADLINE_EXCEEDED),
)

MAX_BEAMS = 16
MAX_NEW_TOKENS = MAX_OUTPUT_TOKENS
SUMMARY_TOKENS_RANGE = (8, 512)

_TASKS = {Task.TRANSLATION: pb.TASK_TRANSLATION, Task.SUMMARIZATION: pb.TASK_SUMMARIZATION}
_STYLES = {
    pb.SUMMARY_STYLE_UNSPECIFIED: "",
    pb.SUMMARY_STYLE_HEADLINE: "headline",
    pb.SUMMARY_STYLE_SHORT: "short",
    pb.SUMMARY_STYLE_LONG: "long",
}


def status_for(error: Exception, request_id: str = "") -> tuple[grpc.StatusCode, str]:
    for error_type, code in STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return code, str(error)
    return (
        grpc.StatusCode.INTERNAL,
        f"internal error ({type(error).__name__}), request id {request_id}; the server log has the details",
    )


def retry_trailers(error: Exception) -> tuple[tuple[str, str | bytes], ...]:
    """The retry hint of a refusal: ``grpc-retry-pushback-ms`` (read by gRPC's own
    retry policy) and ``google.rpc.RetryInfo`` (read by any client with grpcio-status)."""
    if not isinstance(error, OverloadedError):
        return ()
    milliseconds = max(1, round(error.retry_after * 1000))
    delay = duration_pb2.Duration()
    delay.FromMilliseconds(milliseconds)
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
    status = rpc_status.to_status(
        status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message=str(error), details=[detail])
    )
    return (("grpc-retry-pushback-ms", str(milliseconds)), *status.trailing_metadata)


def request_id_of(context: grpc.aio.ServicerContext) -> str:
    """The caller's ``x-request-id`` when it is a sane token, else a new one."""
    for key, value in context.invocation_metadata() or ():
        if key == REQUEST_ID_KEY and isinstance(value, str) and _REQUEST_ID.fullmatch(value):
            return value
    return uuid.uuid4().hex


@dataclass
class CallRecord:
    """One RPC's access-log fields; ``stats`` is filled by the core as the work runs."""

    method: str
    request_id: str
    stats: RequestStats

    def deadline(self, context: grpc.aio.ServicerContext) -> float | None:
        """The caller's deadline on the event loop's clock (None when it set none)."""
        remaining = context.time_remaining()
        if remaining is None or remaining > 10**8:  # no deadline reads as "forever"
            return None
        return asyncio.get_running_loop().time() + remaining


@dataclass(frozen=True)
class LoadedModels:
    translator: Translator
    summarizer: Summarizer | None

    @property
    def infos(self) -> list[ModelInfo]:
        return [self.translator.info] + ([self.summarizer.info] if self.summarizer else [])


@dataclass(frozen=True)
class TranslateArgs:
    """A TranslateRequest, checked and converted."""

    texts: list[str]
    source_language: str
    target_language: str
    num_beams: int
    max_new_tokens: int
    html: bool
    glossary: Glossary | None


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if value != 0 and not low <= value <= high:
        raise InvalidRequestError(f"{name} must be 0 (server default) or between {low} and {high}, got {value}")


def _segment_pb(segment: TranslatedSegment) -> pb.Segment:
    return pb.Segment(
        source=segment.source,
        translation=segment.translation,
        source_start=segment.start,
        source_end=segment.end,
        separator=segment.separator,
        detected_language=segment.detected_language,
        trailing=segment.trailing,
        glossary_missing=list(segment.glossary_missing),
    )


def _translate_response(result: TranslationResult) -> pb.TranslateResponse:
    return pb.TranslateResponse(
        translations=[
            pb.Translation(
                text=document.text,
                segments=[_segment_pb(s) for s in document.segments],
                detected_language=document.detected_language,
            )
            for document in result.documents
        ],
        model=result.model,
        usage=pb.Usage(input_tokens=result.input_tokens, output_tokens=result.output_tokens),
    )


def _summarize_response(result: SummaryResult) -> pb.SummarizeResponse:
    return pb.SummarizeResponse(
        summary=result.summary,
        summary_language=result.summary_language,
        model=result.model,
        usage=pb.Usage(input_tokens=result.input_tokens, output_tokens=result.output_tokens),
        detected_language=result.detected_language,
        method=result.method,
        style=result.style,
    )


def _model_info_pb(info: ModelInfo) -> pb.ModelInfo:
    return pb.ModelInfo(
        id=info.id,
        task=_TASKS[info.task],
        source_languages=list(info.source_languages),
        target_languages=list(info.target_languages),
        revision=info.revision,
        license=info.license,
        engine=info.engine,
        device=info.device,
        untrained=info.untrained,
        max_input_tokens=info.max_input_tokens,
        notice=info.notice,
        max_output_tokens=info.max_output_tokens,
    )


class TarjamaServicer(pb_grpc.TarjamaServiceServicer):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.models: LoadedModels | None = None
        self._in_flight = 0
        self._draining = False
        self._drain_counts = {"finished": 0, "ok": 0, "cut": 0}

    def _loaded(self) -> LoadedModels:
        if self.models is None:
            raise NotReadyError("models are still loading; retry shortly (health reports SERVING when ready)")
        return self.models

    # -- validation -------------------------------------------------------------

    def _check_text(self, name: str, text: str) -> None:
        if not text.strip():
            raise InvalidRequestError(f"{name} is empty: send text with at least one non-space character")
        if len(text) > self.settings.max_text_chars:
            raise InvalidRequestError(
                f"{name} has {len(text)} characters, over this server's limit of {self.settings.max_text_chars}: "
                "split the document into several texts or requests"
            )

    def _translate_args(self, request: pb.TranslateRequest, info: ModelInfo) -> TranslateArgs:
        texts = list(request.texts)
        if not texts:
            raise InvalidRequestError("texts is empty: send at least one text to translate")
        if len(texts) > self.settings.max_texts:
            raise InvalidRequestError(
                f"{len(texts)} texts in one request, over this server's limit of {self.settings.max_texts}: "
                "send them in several requests"
            )
        for index, text in enumerate(texts):
            self._check_text(f"texts[{index}]", text)
        _check_range("options.num_beams", request.options.num_beams, 1, MAX_BEAMS)
        # The model's own limit (its decoder positions), as ListModels reports it.
        _check_range("options.max_new_tokens", request.options.max_new_tokens, 1, info.max_output_tokens)
        mime_type = request.mime_type.split(";")[0].strip().lower()  # "text/html; charset=utf-8"
        if mime_type not in ("", "text/plain", "text/html"):
            raise InvalidRequestError(f"mime_type {request.mime_type!r} is not supported: use text/plain or text/html")
        return TranslateArgs(
            texts=texts,
            source_language=normalize_language(request.source_language, "source_language"),
            target_language=normalize_language(request.target_language, "target_language"),
            num_beams=request.options.num_beams,
            max_new_tokens=request.options.max_new_tokens,
            html=mime_type == "text/html",
            glossary=Glossary.checked(dict(request.glossary)) if request.glossary else None,
        )

    # -- plumbing ----------------------------------------------------------------

    def start_draining(self) -> int:
        """The server is stopping: count how the calls in flight now end. Returns how many there are."""
        self._draining = True
        self._drain_counts = {"finished": 0, "ok": 0, "cut": 0}
        return self._in_flight

    def drain_outcome(self) -> dict[str, int]:
        return dict(self._drain_counts)

    @contextlib.asynccontextmanager
    async def _rpc(self, method: str, context: grpc.aio.ServicerContext) -> AsyncIterator[CallRecord]:
        """Count, time and log the call; turn any error into its status (see STATUS_BY_ERROR)."""
        started = time.perf_counter()
        record = CallRecord(method, request_id_of(context), RequestStats())
        trailers: tuple[tuple[str, str | bytes], ...] = ((REQUEST_ID_KEY, record.request_id),)
        context.set_trailing_metadata(trailers)
        counted = not self._draining  # calls that arrive while draining are refused by gRPC itself
        self._in_flight += 1
        ended = False

        def end(code: grpc.StatusCode) -> None:
            nonlocal ended
            ended = True
            self._in_flight -= 1
            seconds = time.perf_counter() - started
            if self._draining and counted:
                self._drain_counts["cut" if code == grpc.StatusCode.CANCELLED else "finished"] += 1
                self._drain_counts["ok"] += code == grpc.StatusCode.OK
            metrics.REQUESTS.labels(method, code.name).inc()
            metrics.REQUEST_SECONDS.labels(method).observe(seconds)
            self._access_line(record, code, seconds)

        try:
            yield record
        except asyncio.CancelledError:  # deadline passed, client went away, or cut at shutdown
            end(grpc.StatusCode.CANCELLED)
            raise
        except Exception as error:
            code, message = self._report(method, error, record.request_id)
            end(code)  # before the status goes out: the log line is written when the caller sees the error
            await context.abort(code, message, trailing_metadata=trailers + retry_trailers(error))
        finally:
            if not ended:
                end(grpc.StatusCode.OK)

    @staticmethod
    def _access_line(record: CallRecord, code: grpc.StatusCode, seconds: float) -> None:
        stats = record.stats
        fields = {
            "method": record.method,
            "status": code.name,
            "duration_ms": round(seconds * 1000, 1),
            "texts": stats.texts,
            "segments": stats.segments,
            "input_tokens": stats.input_tokens,
            "output_tokens": stats.output_tokens,
            "queue_wait_ms": round(stats.queue_seconds * 1000, 1),
            "estimate_ms": round(stats.estimated_seconds * 1000, 1),
            "request_id": record.request_id,
        }
        access_log.info(" ".join(f"{key}={value}" for key, value in fields.items()), extra={"fields": fields})

    @staticmethod
    def _report(method: str, error: Exception, request_id: str) -> tuple[grpc.StatusCode, str]:
        code, message = status_for(error, request_id)
        if code == grpc.StatusCode.INTERNAL:
            # The error's message may quote the input (article text never goes to the log): type and frames only.
            frames = "".join(traceback.format_tb(error.__traceback__))
            log.error("%s failed, request id %s: %s\n%s", method, request_id, type(error).__name__, frames)
        else:
            log.debug("%s: %s: %s", method, code.name, message)
        return code, message

    # -- RPCs --------------------------------------------------------------------

    async def Translate(self, request: pb.TranslateRequest, context: grpc.aio.ServicerContext) -> pb.TranslateResponse:
        async with self._rpc("Translate", context) as call:
            translator = self._loaded().translator
            args = self._translate_args(request, translator.info)
            result = await translator.translate_texts(
                args.texts,
                args.source_language,
                args.target_language,
                translator.params(args.num_beams, args.max_new_tokens),
                call.deadline(context),
                html=args.html,
                glossary=args.glossary,
                stats=call.stats,
            )
            return _translate_response(result)
        raise AssertionError("unreachable: _rpc aborts on error")

    async def StreamTranslate(
        self, request: pb.TranslateRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.TranslateEvent]:
        async with self._rpc("StreamTranslate", context) as call:
            translator = self._loaded().translator
            args = self._translate_args(request, translator.info)
            # The first segment goes ahead of other requests' later ones: progress shows early, even under load.
            params = translator.params(args.num_beams, args.max_new_tokens)
            prepared = await translator.prepare(
                args.texts,
                args.source_language,
                args.target_language,
                call.deadline(context),
                params,
                html=args.html,
                glossary=args.glossary,
                early=1,
                stats=call.stats,
            )
            model = translator.info.label
            # Closed at once when the caller leaves mid-stream, so its queued jobs are withdrawn now.
            async with contextlib.aclosing(translator.stream(prepared, params)) as events:
                async for plan, segment in events:
                    yield pb.TranslateEvent(
                        text_index=plan.text_index,
                        segment_index=segment.index,
                        total_segments=plan.segment_count,
                        segment=_segment_pb(segment),
                        detected_language=plan.source_language,
                        model=model,
                        usage=pb.Usage(input_tokens=segment.input_tokens, output_tokens=segment.output_tokens),
                    )

    async def Summarize(self, request: pb.SummarizeRequest, context: grpc.aio.ServicerContext) -> pb.SummarizeResponse:
        async with self._rpc("Summarize", context) as call:
            summarizer = self._loaded().summarizer
            if summarizer is None:
                raise FeatureDisabledError(
                    "summarization is disabled on this server (started with --summarization-model none)"
                )
            self._check_text("text", request.text)
            low, high = SUMMARY_TOKENS_RANGE
            high = min(high, summarizer.info.max_output_tokens)
            _check_range("max_summary_tokens", request.max_summary_tokens, low, high)
            _check_range("num_beams", request.num_beams, 1, MAX_BEAMS)
            if request.style not in _STYLES:
                raise InvalidRequestError(
                    f"style {request.style} is not a SummaryStyle: use HEADLINE, SHORT or LONG (or leave it unset)"
                )
            result = await summarizer.summarize(
                request.text,
                normalize_language(request.source_language, "source_language"),
                normalize_language(request.summary_language, "summary_language"),
                request.max_summary_tokens,
                request.num_beams,
                _STYLES[request.style],
                call.deadline(context),
                call.stats,
            )
            return _summarize_response(result)
        raise AssertionError("unreachable: _rpc aborts on error")

    async def ListModels(
        self, request: pb.ListModelsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListModelsResponse:
        async with self._rpc("ListModels", context):
            infos = self.models.infos if self.models else []
            return pb.ListModelsResponse(models=[_model_info_pb(info) for info in infos])
        raise AssertionError("unreachable: _rpc aborts on error")


class _Undecodable:
    """Stands for a request message that could not be parsed (invalid UTF-8 in a string)."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _lenient(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any]:
    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data) if deserializer else data
        except Exception as error:  # protobuf's DecodeError, whatever the implementation
            return _Undecodable(error)

    return deserialize


_UNDECODABLE_MESSAGE = (
    "the request could not be decoded: every string field must be valid UTF-8 (check the text's encoding)"
)


async def _refuse_undecodable(method: str, request: _Undecodable, context: grpc.aio.ServicerContext) -> None:
    log.info("%s: INVALID_ARGUMENT: undecodable request: %s", method, request.error)
    metrics.REQUESTS.labels(method.rsplit("/", 1)[-1], grpc.StatusCode.INVALID_ARGUMENT.name).inc()
    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, _UNDECODABLE_MESSAGE)


def _checked_unary(method: str, behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def checked(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if isinstance(request, _Undecodable):
            await _refuse_undecodable(method, request, context)
        return await behavior(request, context)

    return checked


def _checked_stream(method: str, behavior: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
    async def checked(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        if isinstance(request, _Undecodable):
            await _refuse_undecodable(method, request, context)
        async for response in behavior(request, context):
            yield response

    return checked


class DecodeErrorInterceptor(grpc.aio.ServerInterceptor):
    """Answer a request that cannot be parsed (invalid UTF-8 in a string field) with
    INVALID_ARGUMENT. grpc would otherwise reply UNKNOWN before any servicer code runs:
    parsing happens in the method handler's deserializer, so this wraps it."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler.request_streaming:
            return handler
        method = handler_call_details.method
        deserializer = _lenient(handler.request_deserializer)
        behavior: Any = handler.unary_unary or handler.unary_stream  # async callables under grpc.aio
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                _checked_unary(method, behavior),
                request_deserializer=deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                _checked_stream(method, behavior),
                request_deserializer=deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler
