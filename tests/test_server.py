"""A real server on a loopback port, driven through the real client, on tiny models.
Tiny random models make noise, so these tests check structure, never wording."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import urllib.request

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from tarjama_client import (
    AsyncTarjamaClient,
    AuthenticationError,
    DecodingOptions,
    InvalidRequestError,
    RetryPolicy,
    TarjamaClient,
    TarjamaError,
)
from tarjama_server.text.segmentation import split_sentences

from .helpers import GatedEngine, ServerThread, gated_loader, join, make_certificate, tiny_settings


def assert_document_covered(source: str, translation) -> None:
    covered = [False] * len(source)
    previous_end = 0
    for segment in translation.segments:
        assert segment.source == source[segment.source_start : segment.source_end]
        assert segment.source_start >= previous_end
        previous_end = segment.source_end
        for i in range(segment.source_start, segment.source_end):
            covered[i] = True
    missing = [char for char, hit in zip(source, covered, strict=True) if not hit and not char.isspace()]
    assert not missing, f"characters outside every segment: {''.join(missing)[:50]!r}"
    assert translation.text == "".join(s.separator + s.translation for s in translation.segments)


def test_seed_article_is_fully_covered_by_segments(client: TarjamaClient, seed_article: str) -> None:
    result = client.translate(seed_article)
    (translation,) = result.translations
    assert_document_covered(seed_article, translation)
    assert len(translation.segments) == len(split_sentences(seed_article)) == 20
    assert translation.detected_language == "ar"
    assert "UNTRAINED" in result.model and result.untrained
    assert result.usage.input_tokens > len(translation.segments)
    assert result.usage.output_tokens > 0


def test_several_texts_come_back_in_order_with_paragraph_breaks(client: TarjamaClient, seed_article: str) -> None:
    headline = "حلب تحت سيطرة النظام"
    body = "الفقرة الأولى. جملة ثانية.\n\nالفقرة الثانية.\nسطر ثالث"
    caption = "صورة: مدنيون يغادرون حلب"
    result = client.translate([headline, body, caption], source_language="ar", target_language="en")
    assert len(result.translations) == 3
    for source, translation in zip([headline, body, caption], result.translations, strict=True):
        assert_document_covered(source, translation)
    body_translation = result.translations[1]
    assert [s.separator for s in body_translation.segments] == ["", " ", "\n\n", "\n"]
    assert body_translation.text.count("\n\n") >= 1
    assert [s.source for s in body_translation.segments] == [
        "الفقرة الأولى.",
        "جملة ثانية.",
        "الفقرة الثانية.",
        "سطر ثالث",
    ]


def test_text_already_in_english_comes_back_unchanged(client: TarjamaClient) -> None:
    headline, caption = "حلب تحت سيطرة النظام", "(AFP) Photo: Reuters"
    result = client.translate([headline, caption])
    assert [t.detected_language for t in result.translations] == ["ar", "en"]
    assert result.translations[1].text == caption
    assert_document_covered(caption, result.translations[1])


def test_long_sentence_is_split_not_truncated(client: TarjamaClient) -> None:
    text = " ".join(["الحرب في سوريا مستمرة منذ سنوات"] * 400)  # ~2,400 words, no full stop
    (translation,) = client.translate(text, options=DecodingOptions(num_beams=1, max_new_tokens=4)).translations
    assert_document_covered(text, translation)
    assert len(translation.segments) > 1


def test_stream_yields_every_segment_in_order(client: TarjamaClient, seed_article: str) -> None:
    second = "جملة أولى. جملة ثانية؟ جملة ثالثة!"
    events = list(client.stream_translate([seed_article, second]))
    order = [(e.text_index, e.segment_index) for e in events]
    expected_counts = [len(split_sentences(seed_article)), 3]
    assert order == [(t, s) for t, count in enumerate(expected_counts) for s in range(count)]
    assert all(e.total_segments == expected_counts[e.text_index] for e in events)
    unary = client.translate([seed_article, second])
    for index, translation in enumerate(unary.translations):
        streamed = [e.segment for e in events if e.text_index == index]
        assert [(s.source_start, s.source_end, s.separator) for s in streamed] == [
            (s.source_start, s.source_end, s.separator) for s in translation.segments
        ]


@pytest.mark.parametrize(("language", "method"), [("en", "+translate-ar-en"), ("ar", "summarize-ar")])
def test_summarize_answers_in_the_asked_language(
    client: TarjamaClient, seed_article: str, language: str, method: str
) -> None:
    result = client.summarize(seed_article, summary_language=language, max_summary_tokens=16)
    assert result.summary_language == language
    assert result.detected_language == "ar"
    assert method in result.method
    assert result.usage.output_tokens > 0
    assert "mt5-summarizer" in result.model
    assert ("marian-ar-en" in result.model) == (language == "en")


def test_summarize_headline_is_one_sentence(client: TarjamaClient, seed_article: str) -> None:
    result = client.summarize(seed_article, summary_language="en", style="headline")
    assert result.style == "headline"
    assert len(split_sentences(result.summary)) <= 1


def test_summary_style_is_checked_on_both_sides(client: TarjamaClient, server: ServerThread) -> None:
    from tarjama_client.v1 import tarjama_pb2, tarjama_pb2_grpc

    with pytest.raises(InvalidRequestError, match="style 'poem'"):
        client.summarize("حلب", style="poem")  # refused before sending
    with grpc.insecure_channel(server.address) as channel, pytest.raises(grpc.RpcError) as raised:
        tarjama_pb2_grpc.TarjamaServiceStub(channel).Summarize(tarjama_pb2.SummarizeRequest(text="حلب", style=9))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "SummaryStyle" in raised.value.details()


def test_summarize_defaults_to_english(client: TarjamaClient, seed_article: str) -> None:
    assert client.summarize(seed_article, max_summary_tokens=8).summary_language == "en"


def test_long_article_is_summarized_whole_by_map_reduce(client: TarjamaClient, seed_article: str) -> None:
    result = client.summarize("\n\n".join([seed_article] * 3), summary_language="ar", max_summary_tokens=8)
    chunks = re.search(r"map-reduce\(([\d/]+) chunks\)", result.method)
    assert chunks, result.method
    assert int(chunks.group(1).split("/")[0]) >= 3


def test_list_models(client: TarjamaClient, models_dir) -> None:
    models = {m.task: m for m in client.list_models()}
    assert set(models) == {"translation", "summarization"}
    translation = models["translation"]
    assert translation.id == str(models_dir / "marian-ar-en")
    assert (translation.source_languages, translation.target_languages) == (["ar"], ["en"])
    assert translation.revision == "local" and translation.device == "cpu"
    # No engine setting: auto runs CTranslate2 where it is installed, and says so.
    installed = importlib.util.find_spec("ctranslate2") is not None
    assert translation.engine.startswith("ctranslate2" if installed else "transformers"), translation.engine
    assert models["summarization"].engine.split()[0] == translation.engine.split()[0]
    assert translation.untrained and "UNTRAINED" in translation.notice
    assert translation.max_input_tokens == 512
    assert models["summarization"].source_languages == ["ar", "en"]
    assert models["summarization"].max_input_tokens == 512  # mT5 has no position limit: the card's window


def test_health_and_reflection(client: TarjamaClient, server: ServerThread) -> None:
    assert client.health() == "SERVING"
    assert client.health("tarjama.v1.TarjamaService") == "SERVING"
    with grpc.insecure_channel(server.address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        (response,) = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        names = {s.name for s in response.list_services_response.service}
    assert {"tarjama.v1.TarjamaService", "grpc.health.v1.Health"} <= names


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.translate([]), "texts is empty"),
        (lambda c: c.translate(["حلب", "  \n "]), "texts[1] is empty"),
        (lambda c: c.translate("حلب", source_language="fr"), "fr → en is not supported"),
        (lambda c: c.translate("حلب", target_language="de"), "target_language 'de' is not supported"),
        (lambda c: c.translate("حلب", source_language="arabic!"), "not a language code"),
        (lambda c: c.translate("Le Monde", source_language="fr", target_language="en"), "fr → en is not supported"),
        (lambda c: c.translate("حلب", options=DecodingOptions(num_beams=99)), "options.num_beams must be"),
        (lambda c: c.translate("حلب", options=DecodingOptions(max_new_tokens=-1)), "options.max_new_tokens must be"),
        (lambda c: c.translate("ح" * 200_001), "over this server's limit"),
        (lambda c: c.summarize(""), "text is empty"),
        (lambda c: c.summarize("حلب", summary_language="fr"), "summary_language 'fr' is not available"),
        (lambda c: c.summarize("حلب", max_summary_tokens=100_000), "max_summary_tokens must be"),
        (lambda c: c.summarize("Bonjour à tous", source_language="fr"), "cannot summarize 'fr' text"),
    ],
)
def test_bad_input_gets_invalid_argument_and_server_keeps_serving(client: TarjamaClient, call, message: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        call(client)
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert message in raised.value.details
    assert client.translate("حلب").translations[0].segments


def test_async_client(server: ServerThread, seed_article: str) -> None:
    async def scenario() -> None:
        async with AsyncTarjamaClient(server.address) as client:
            await client.wait_until_ready(timeout=120)
            results = await asyncio.gather(*(client.translate(f"الجملة رقم {i}.") for i in range(6)))
            assert all(len(r.translations[0].segments) == 1 for r in results)
            events = [e async for e in client.stream_translate(seed_article)]
            assert [e.segment_index for e in events] == list(range(20))
            with pytest.raises(InvalidRequestError):
                await client.translate("")

    asyncio.run(scenario())


def test_deadline_exceeded_withdraws_queued_work_and_server_recovers(models_dir, seed_article: str) -> None:
    from tarjama_client import DeadlineExceededError

    engines: list[GatedEngine] = []
    settings = tiny_settings(models_dir, summarization_model="none")
    with ServerThread(settings, gated_loader(engines)).start() as running, TarjamaClient(running.address) as client:
        (engine,) = engines
        expired = [seed_article] * 2  # 40 segments: more than one batch
        with pytest.raises(DeadlineExceededError):
            client.translate(expired, timeout=1.0)  # the gate is shut: it cannot finish, however fast the machine
        engine.gate.set()
        assert client.health(timeout=60) == "SERVING"
        assert len(client.translate("حلب.", timeout=120).translations) == 1
        # Only a batch already at the gate ran; the expired request's queued segments were withdrawn.
        assert engine.batches[-1] == ["حلب."]
        assert sum(len(batch) for batch in engine.batches[:-1]) < 40


@pytest.fixture(scope="module")
def guarded_server(models_dir):
    with ServerThread(tiny_settings(models_dir, auth_token="s3cret", max_queued_jobs=5)).start() as running:
        yield running


def test_auth_token_is_required_except_for_health(guarded_server: ServerThread) -> None:
    with TarjamaClient(guarded_server.address) as anonymous:
        assert anonymous.health() == "SERVING"
        with pytest.raises(AuthenticationError, match="authorization: Bearer"):
            anonymous.translate("حلب")
    with TarjamaClient(guarded_server.address, token="wrong") as wrong, pytest.raises(AuthenticationError):
        list(wrong.stream_translate("حلب"))
    with TarjamaClient(guarded_server.address, token="s3cret") as allowed:
        assert allowed.translate("حلب").translations


def test_request_larger_than_the_queue_gets_invalid_argument(guarded_server: ServerThread, seed_article: str) -> None:
    # RESOURCE_EXHAUSTED is for "busy now, retry" (tests/test_hostile_copy.py); this one could never fit.
    with TarjamaClient(guarded_server.address, token="s3cret") as client:
        with pytest.raises(InvalidRequestError, match="max_queued_jobs=5"):
            client.translate(seed_article)  # 20 segments > 5 queue slots
        assert client.translate("حلب.").translations  # still serving


def test_metrics_endpoint(models_dir) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = tiny_settings(models_dir, metrics_port=port, summarization_model="none")
    with ServerThread(settings).start() as running, TarjamaClient(running.address) as client:
        client.translate("حلب.")
        with pytest.raises(InvalidRequestError, match="summarization is disabled"):
            client.summarize("حلب")
        assert [m.task for m in client.list_models()] == ["translation"]
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60).read().decode()
    assert 'tarjama_requests_total{code="OK",method="Translate",protocol="grpc"}' in body
    assert "tarjama_batch_size_bucket" in body
    assert "tarjama_models_ready 1.0" in body


def test_graceful_stop_finishes_accepted_work_then_refuses_new(models_dir, seed_article: str) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from tarjama_client import ServerUnavailableError

    engines: list[GatedEngine] = []
    settings = tiny_settings(models_dir, summarization_model="none", shutdown_grace_seconds=120)
    with (
        ServerThread(settings, gated_loader(engines)).start() as running,
        TarjamaClient(running.address, timeout=120, retry=RetryPolicy.disabled()) as client,
        ThreadPoolExecutor(1) as pool,
    ):
        (engine,) = engines
        in_flight = pool.submit(client.translate, [seed_article, seed_article])
        assert engine.started.wait(60), "the request never reached the model"
        stopper = threading.Thread(target=running.stop)
        stopper.start()
        assert running.stopping.wait(60), "the server never began to stop"
        engine.gate.set()  # the accepted request may now finish, inside the grace period
        result = in_flight.result(timeout=120)
        assert [len(t.segments) for t in result.translations] == [20, 20]
        join(stopper)
        with pytest.raises(ServerUnavailableError):
            client.translate("حلب.", timeout=60)


def test_tls(models_dir, tmp_path) -> None:
    key, cert = make_certificate(tmp_path, "localhost", "DNS:localhost,IP:127.0.0.1")
    settings = tiny_settings(models_dir, tls_cert=str(cert), tls_key=str(key), summarization_model="none")
    with ServerThread(settings).start() as running:
        with TarjamaClient(f"localhost:{running.port}", ca_file=str(cert)) as client:
            assert client.translate("حلب.").translations[0].segments
        with (
            TarjamaClient(f"localhost:{running.port}", timeout=60, retry=RetryPolicy.disabled()) as plaintext,
            pytest.raises(TarjamaError),
        ):
            plaintext.translate("حلب.")


def test_not_serving_until_models_are_loaded(models_dir) -> None:
    import threading

    from tarjama_client import ServerUnavailableError
    from tarjama_server.loading.loader import load_engines

    release = threading.Event()

    def slow_loader(settings):
        assert release.wait(60), "the test never released the loader"
        return load_engines(settings)

    running = ServerThread(tiny_settings(models_dir, summarization_model="none"), slow_loader)
    running.start(wait_for_models=False)
    try:
        with TarjamaClient(running.address, timeout=120, retry=RetryPolicy.disabled()) as client:
            assert client.health(timeout=60) == "NOT_SERVING"
            with pytest.raises(ServerUnavailableError, match="models are still loading"):
                client.translate("حلب.")
            assert client.list_models() == []
            release.set()
            client.wait_until_ready(timeout=120)
            assert client.health(timeout=60) == "SERVING"
            assert client.translate("حلب.").translations
    finally:
        release.set()  # first, or stop() would wait on a loader that never returns
        running.stop()
