"""Trust signals (issue 14): scores from both engines, segment flags, request id and timings in
the response body, a repeated call served from the cache (the cache itself: test_cache.py),
server info, alternatives and the CLI's --confidence."""

from __future__ import annotations

import importlib.util
import math
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from tarjama_client import TarjamaClient
from tarjama_client.cli import main
from tarjama_client.errors import InvalidRequestError
from tarjama_client.v1 import tarjama_pb2 as pb
from tarjama_client.v1 import tarjama_pb2_grpc as pb_grpc
from tarjama_server.core.recipes import TranslationDefaults
from tarjama_server.core.trust import SegmentFlag, source_copied, unusual_length
from tarjama_server.engines.base import GenerationParams, Task
from tarjama_server.loading.hub import resolve_model
from tarjama_server.loading.loader import load_engine

from .helpers import SEED_ARTICLE, GatedEngine, ServerThread, gated_loader, join, tiny_settings, wait_for
from .test_translation import LoopingEngine, translate

HEADLINE = "حلب تحت سيطرة النظام"


# -- engines ------------------------------------------------------------------------------


def test_both_engines_score_the_same_mean_log_probability(looping_marian: Path, tmp_path: Path) -> None:
    """On outputs of 20 tokens, so that a wrong length normalisation (a sum, or the end token left
    out) would show: transformers (sequences_scores or the greedy steps) against CTranslate2."""
    pytest.importorskip("ctranslate2")
    resolved = resolve_model(str(looping_marian))
    reference = load_engine(resolved, Task.TRANSLATION, ("ar",), ("en",), "cpu")
    fast = load_engine(resolved, Task.TRANSLATION, ("ar",), ("en",), "cpu", engine="ctranslate2",
                       compute_type="float32", converted_dir=str(tmp_path), threads=1)  # fmt: skip
    texts = [HEADLINE, "وقالت المنظمة إن العملية انتهت"]
    for params in (
        GenerationParams(num_beams=1, max_new_tokens=20),
        GenerationParams(num_beams=3, max_new_tokens=20, length_penalty=0.6),
        GenerationParams(num_beams=2, max_new_tokens=20, length_penalty=1.5, alternatives=2),
    ):
        expected, got = reference.generate(texts, params), fast.generate(texts, params)
        assert [g.output_tokens for g in expected] == [g.output_tokens for g in got] == [20, 20]
        for a, b in zip(expected, got, strict=True):
            assert a.log_probability is not None and b.log_probability is not None
            assert math.isfinite(a.log_probability) and a.log_probability <= 0
            assert a.log_probability == pytest.approx(b.log_probability, abs=0.01)
            assert len(a.alternatives) == len(b.alternatives) == params.alternatives
            for x, y in zip(a.alternatives, b.alternatives, strict=True):
                assert x.log_probability == pytest.approx(y.log_probability, abs=0.01) and x.log_probability <= 0


# -- pure pieces --------------------------------------------------------------------------


def test_flags_from_lengths_and_copies() -> None:
    assert not unusual_length(4, 30)  # too short to judge
    assert unusual_length(10, 30) and unusual_length(20, 5) and not unusual_length(10, 14)
    assert source_copied("حلب", "حلب", target_language="en")
    assert source_copied("قالت", "the قالت قالت", target_language="en")
    assert not source_copied("حلب", "Aleppo", target_language="en")


def test_a_looping_output_retried_is_flagged() -> None:
    result = translate(TranslationDefaults(), ["جملة أولى."], LoopingEngine())
    (segment,) = result.documents[0].segments
    assert SegmentFlag.REPETITION_RETRIED in segment.flags


# -- through a server ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def trusted(models_dir: Path) -> Iterator[tuple[ServerThread, GatedEngine]]:
    """A server with the cache on, whose translation engine records its batches."""
    engines: list[GatedEngine] = []
    settings = tiny_settings(models_dir, cache_bytes=4 * 1024 * 1024)
    with ServerThread(settings, gated_loader(engines)).start() as running:
        (engine,) = engines
        engine.gate.set()
        yield running, engine


def model_inputs(engine: GatedEngine) -> list[str]:
    return [text for batch in engine.batches for text in batch]


def test_seed_article_scores_request_id_timings_and_a_cached_second_call(
    trusted: tuple[ServerThread, GatedEngine],
) -> None:
    running, engine = trusted
    article = SEED_ARTICLE.read_text(encoding="utf-8")
    with grpc.insecure_channel(running.address) as channel:
        stub = pb_grpc.TarjamaServiceStub(channel)
        request = pb.TranslateRequest(texts=[article, "Reuters reported."])
        first = stub.Translate(request, metadata=[("x-request-id", "editor-desk-42")], timeout=120)
        before = len(model_inputs(engine))
        second = stub.Translate(request, timeout=120)
    assert first.request_id == "editor-desk-42" and len(second.request_id) == 32  # made by the server
    assert 0 <= first.timings.queue_ms <= first.timings.total_ms and 0 < first.timings.model_ms
    translated, english = first.translations
    assert len(translated.segments) == 20
    for segment in translated.segments:
        assert segment.HasField("log_probability") and math.isfinite(segment.log_probability)
        assert segment.log_probability <= 0 and 0 < segment.confidence <= 1
        assert segment.confidence == pytest.approx(math.exp(segment.log_probability))
        assert pb.SEGMENT_FLAG_PASSED_THROUGH not in segment.flags
    for segment in english.segments:
        assert not segment.HasField("log_probability") and not segment.HasField("confidence")
        assert list(segment.flags) == [pb.SEGMENT_FLAG_PASSED_THROUGH]
    # Sent again: the same result, from the cache, without the model.
    assert len(model_inputs(engine)) == before
    assert [t.text for t in second.translations] == [t.text for t in first.translations]
    again = second.translations[0].segments
    assert [s.log_probability for s in again] == [s.log_probability for s in translated.segments]
    assert all(pb.SEGMENT_FLAG_CACHED in s.flags for s in again)
    assert second.usage.input_tokens == 0 and second.timings.model_ms == 0


def test_concurrent_identical_requests_run_once(trusted: tuple[ServerThread, GatedEngine]) -> None:
    running, engine = trusted
    text = "أعلن الصليب الأحمر اكتمال الإجلاء. وقالت المنظمة إن الحافلات وصلت. وغادر آلاف المدنيين المدينة."
    cache = running.server.state.loaded().translator.cache  # type: ignore[union-attr]
    engine.gate.clear()
    before = len(model_inputs(engine))
    results: list[object] = []

    def send() -> None:
        with TarjamaClient(running.address, timeout=120) as client:
            results.append(client.translate(text))

    threads = [threading.Thread(target=send) for _ in range(3)]
    try:
        for thread in threads:
            thread.start()
        # The first request's three sentences are at the gate; the other two requests wait for them.
        wait_for(lambda: cache.waiting == 6, "the later requests to wait for the first one's segments")
    finally:
        engine.gate.set()
    for thread in threads:
        join(thread)
    inputs = model_inputs(engine)[before:]
    assert len(inputs) == len(set(inputs)) == 3  # each sentence once, for the three requests
    texts = {result.translations[0].text for result in results}  # type: ignore[attr-defined]
    assert len(results) == 3 and len(texts) == 1


def test_flags_cut_alternatives_and_their_bounds(trusted: tuple[ServerThread, GatedEngine]) -> None:
    running, _ = trusted
    long_sentence = " ".join(["قالت المنظمة إن الحافلات وصلت إلى المدينة"] * 60)  # no full stop: cut to fit
    with TarjamaClient(running.address, timeout=120) as client:
        (cut,) = client.translate(long_sentence).translations
        assert len(cut.segments) > 1 and all("cut" in s.flags for s in cut.segments)
        (headline,) = client.translate(HEADLINE, alternatives=2).translations
        (segment,) = headline.segments
        assert len(segment.alternatives) == 2
        assert all(a.log_probability <= 0 and 0 < a.confidence <= 1 for a in segment.alternatives)
        info = client.server_info()
        with pytest.raises(InvalidRequestError, match="max_alternatives=4"):
            client.translate(HEADLINE, alternatives=info.max_alternatives + 1)
        with pytest.raises(InvalidRequestError, match="max_alternatives_chars=500"):
            client.translate("حلب " * 200, alternatives=1)


def test_server_info_summary_scores_and_stream_timings(trusted: tuple[ServerThread, GatedEngine]) -> None:
    running, _ = trusted
    article = SEED_ARTICLE.read_text(encoding="utf-8")
    with TarjamaClient(running.address, timeout=120) as client:
        info = client.server_info()
        # The default engine, auto: CTranslate2 where it is installed.
        expected = "ctranslate2" if importlib.util.find_spec("ctranslate2") else "transformers"
        assert info.version and info.engines and info.engines[0].startswith(expected)
        assert (info.max_texts, info.max_text_chars, info.max_beams) == (64, 200_000, 16)
        assert info.max_request_chars == 64 * 200_000 and (info.min_summary_tokens, info.max_summary_tokens) == (8, 512)
        assert info.cache_max_bytes == 4 * 1024 * 1024 and 0 <= info.cache_bytes <= info.cache_max_bytes
        first = client.summarize(article, summary_language="ar", max_summary_tokens=16)
        second = client.summarize(article, summary_language="ar", max_summary_tokens=16)
        assert first.usage.output_tokens > 0
        if first.method.endswith("+first-sentence"):  # the tiny model wrote nothing readable: no model score
            assert first.confidence is None and first.summary
        else:
            assert first.confidence is not None and 0 < first.confidence <= 1
        assert (second.summary, second.log_probability) == (first.summary, first.log_probability)
        assert second.usage.output_tokens == 0 and first.request_id != second.request_id
        events = list(client.stream_translate([HEADLINE, "وقالت المنظمة إن العملية انتهت."]))
        assert [e.timings is not None for e in events] == [False] * (len(events) - 1) + [True]
        assert len({e.request_id for e in events}) == 1 and events[-1].timings.total_ms > 0  # type: ignore[union-attr]


def test_cli_marks_low_confidence_segments_and_json_carries_scores(
    trusted: tuple[ServerThread, GatedEngine], capsys: pytest.CaptureFixture[str]
) -> None:
    running, _ = trusted
    argv = ["--server", running.address, "translate", str(SEED_ARTICLE)]
    assert main([*argv, "--threshold", "1.0"]) == 0  # every score of an untrained model is below 1
    captured = capsys.readouterr()
    assert captured.out.count("[[") == 20 and "\x1b[" not in captured.out  # not a terminal: no colour
    assert "20 of 20 translated segments below confidence 1" in captured.err
    assert main([*argv, "--json"]) == 0
    import json

    segments = json.loads(capsys.readouterr().out)["translations"][0]["segments"]
    assert all(0 < s["confidence"] <= 1 and s["log_probability"] <= 0 and "flags" in s for s in segments)


def test_cli_lists_alternatives_after_the_translation(
    trusted: tuple[ServerThread, GatedEngine], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    running, _ = trusted
    headline = tmp_path / "headline.txt"
    headline.write_text(HEADLINE, encoding="utf-8")
    for stream in ([], ["--stream"]):
        argv = ["--server", running.address, "translate", str(headline), "--alternatives", "2", *stream]
        assert main(argv) == 0
        out = capsys.readouterr().out
        listed = out.split("Alternatives:\n", 1)[1].splitlines()
        assert listed[0] == f"  text 1, segment 1: {HEADLINE}"
        assert len(listed) == 3 and all(re.fullmatch(r"    [01]\.\d\d  .*", line) for line in listed[1:]), out
