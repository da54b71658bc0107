"""Access logs: one line per RPC with its request id; never any article text, at any level."""

from __future__ import annotations

import json
import logging

import grpc
import pytest
from tarjama_client import InvalidRequestError, TarjamaClient
from tarjama_client.v1 import tarjama_pb2 as pb
from tarjama_client.v1 import tarjama_pb2_grpc as pb_grpc
from tarjama_server.logs import JsonFormatter
from tarjama_server.text.segmentation import split_sentences
from tarjama_server.transport.calls import request_id

from .helpers import ServerThread


def excerpt(article: str, sentences: int = 3) -> str:
    """The article's first sentences: enough text to check, little work for the tiny models."""
    return article[: split_sentences(article)[sentences - 1].end]


FIELDS = {"method", "protocol", "status", "duration_ms", "texts", "segments", "input_tokens", "output_tokens",
          "queue_wait_ms", "estimate_ms", "request_id", "key"}  # fmt: skip


def access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "tarjama_server.access"]


def test_one_access_line_per_rpc_with_the_callers_request_id(
    server: ServerThread, caplog: pytest.LogCaptureFixture, seed_article: str
) -> None:
    caplog.set_level(logging.INFO)
    with grpc.insecure_channel(server.address) as channel:
        stub = pb_grpc.TarjamaServiceStub(channel)
        _, call = stub.Translate.with_call(
            pb.TranslateRequest(texts=[excerpt(seed_article)]), metadata=(("x-request-id", "desk-42"),), timeout=120
        )
        assert ("x-request-id", "desk-42") in call.trailing_metadata()
        _, call = stub.ListModels.with_call(pb.ListModelsRequest(), timeout=60)
        generated = dict(call.trailing_metadata())["x-request-id"]
    (translate,) = [r for r in access_records(caplog) if r.fields["request_id"] == "desk-42"]
    assert set(translate.fields) == FIELDS
    assert translate.fields["method"] == "Translate" and translate.fields["status"] == "OK"
    assert translate.fields["protocol"] == "grpc"
    assert (translate.fields["texts"], translate.fields["segments"]) == (1, 3)
    assert translate.fields["input_tokens"] > 3 and translate.fields["output_tokens"] > 0
    assert "request_id=desk-42" in translate.getMessage()
    (listed,) = [r for r in access_records(caplog) if r.fields["request_id"] == generated]
    assert listed.fields["method"] == "ListModels" and len(generated) == 32
    entry = json.loads(JsonFormatter().format(translate))
    assert entry["request_id"] == "desk-42" and entry["segments"] == 3 and entry["logger"] == "tarjama_server.access"


def test_no_article_text_in_any_log_line_at_any_level(
    server: ServerThread, client: TarjamaClient, caplog: pytest.LogCaptureFixture, seed_article: str
) -> None:
    caplog.set_level(logging.DEBUG)
    article = excerpt(seed_article)
    client.translate(article)
    list(client.stream_translate(article))
    client.summarize(article, summary_language="ar")
    with pytest.raises(InvalidRequestError):
        client.translate(article, source_language="ar", target_language="fr")
    lines = [record.getMessage() + (record.exc_text or "") for record in caplog.records]
    assert len(access_records(caplog)) == 4
    text = "\n".join(lines)
    for sentence in split_sentences(article):
        piece = article[sentence.start : sentence.end].strip()[:12]
        assert piece not in text, f"article text in the log: {piece!r}"


def test_a_request_id_that_could_forge_a_log_line_is_replaced() -> None:
    assert request_id(["desk-42/a.b:c=d+e"]) == "desk-42/a.b:c=d+e"
    for sent in ("a\nstatus=OK", "x" * 129, "عربي", "a b", ""):
        made = request_id([sent])
        assert made != sent and len(made) == 32  # a new uuid4 hex
    assert request_id(["bad id", "good-id"]) == "good-id"  # the first sane one
