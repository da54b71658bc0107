"""The four RPCs as every transport runs them: ``tarjama.v1`` request in, the core's pipeline,
``tarjama.v1`` response (or events) out. A transport wraps each in its own call handling
(request id, deadline, errors → its status codes, the access log: ``calls.ServerState``)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator

from tarjama_client.v1 import tarjama_pb2 as pb

from . import protobuf
from .calls import Call, ServerState


async def translate(state: ServerState, request: pb.TranslateRequest, call: Call) -> pb.TranslateResponse:
    translator = state.loaded().translator
    admitted = translator.admit(protobuf.translation_request(request), context=call.request_context)
    call.watch(admitted.report_so_far)
    return protobuf.translate_response(await translator.translate(admitted))


async def stream_translate(
    state: ServerState, request: pb.TranslateRequest, call: Call
) -> AsyncGenerator[pb.TranslateEvent, None]:
    translator = state.loaded().translator
    # The first segment goes ahead of other requests' later ones: progress shows early, even under load.
    admitted = translator.admit(protobuf.translation_request(request), context=call.request_context, early=1)
    call.watch(admitted.report_so_far)
    model = translator.info.label
    # Closed at once when the caller leaves mid-stream, so its queued jobs are withdrawn now.
    async with contextlib.aclosing(translator.stream(admitted)) as segments:
        async for segment in segments:
            yield protobuf.translate_event(segment, admitted.plans[segment.text_index], model)


async def summarize(state: ServerState, request: pb.SummarizeRequest, call: Call) -> pb.SummarizeResponse:
    summarizer = state.loaded().require_summarizer()
    admitted = summarizer.admit(protobuf.summarization_request(request), context=call.request_context)
    call.watch(admitted.report_so_far)
    return protobuf.summarize_response(await summarizer.summarize(admitted))


async def list_models(state: ServerState, request: pb.ListModelsRequest, call: Call) -> pb.ListModelsResponse:
    pipelines = state.pipelines
    infos = pipelines.infos if pipelines else []
    return pb.ListModelsResponse(models=[protobuf.model_info(info) for info in infos])
