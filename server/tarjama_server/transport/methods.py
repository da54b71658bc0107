"""The four RPCs as every transport runs them: ``tarjama.v1`` request in, the core's pipeline,
``tarjama.v1`` response (or events) out. A transport wraps each in its own call handling
(request id, deadline, errors → its status codes, the access log: ``calls.ServerState``).

The core's results and events carry all that goes on the wire; the call's report comes to
``Call.record`` from the core once the run ends. Nothing here reads the core's plans."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator

from tarjama_client.v1 import tarjama_pb2 as pb

from . import protobuf
from .calls import Call, ServerState


async def translate(state: ServerState, request: pb.TranslateRequest, call: Call) -> pb.TranslateResponse:
    translator = state.loaded().translator
    admitted = translator.admit(
        protobuf.translation_request(request), context=call.request_context, on_report=call.record
    )
    return protobuf.translate_response(await translator.translate(admitted), call.request_context)


async def stream_translate(
    state: ServerState, request: pb.TranslateRequest, call: Call
) -> AsyncGenerator[pb.TranslateEvent, None]:
    translator = state.loaded().translator
    # The first segment goes ahead of other requests' later ones: progress shows early, even under load.
    admitted = translator.admit(
        protobuf.translation_request(request), context=call.request_context, early=1, on_report=call.record
    )
    # Closed at once when the caller leaves mid-stream, so its queued jobs are withdrawn now.
    async with contextlib.aclosing(translator.stream(admitted)) as events:
        async for event in events:
            state.still_valid(call)  # a key revoked while its stream runs ends it
            yield protobuf.translate_event(event, call.request_context)


async def summarize(state: ServerState, request: pb.SummarizeRequest, call: Call) -> pb.SummarizeResponse:
    summarizer = state.loaded().require_summarizer()
    admitted = summarizer.admit(
        protobuf.summarization_request(request), context=call.request_context, on_report=call.record
    )
    return protobuf.summarize_response(await summarizer.summarize(admitted), call.request_context)


async def list_models(state: ServerState, request: pb.ListModelsRequest, call: Call) -> pb.ListModelsResponse:
    pipelines = state.pipelines
    if pipelines is None:  # still loading: no models, and the limits are not known yet
        return pb.ListModelsResponse()
    return pb.ListModelsResponse(
        models=[protobuf.model_info(info) for info in pipelines.infos],
        server=protobuf.server_info(pipelines.server_info()),
    )
