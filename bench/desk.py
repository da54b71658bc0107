"""The desk's figures (a benchmark, not a test): a real ``tarjama-server`` on tiny models, over gRPC.

    python bench/desk.py --models /tmp/tiny                          # SQLite in a temporary data dir
    python bench/desk.py --models /tmp/tiny --postgres               # a throwaway PostgreSQL cluster
    python bench/desk.py --models /tmp/tiny --database-url URL       # any database

Prints, for one database: the ImportMemory of ``--entries`` TMX units (one call, one
transaction); SearchMemory latency p50/p95 over ``--queries`` near-miss queries with the memory
full; Translate-with-memory latency p50/p95 for a sentence the memory holds (FROM_MEMORY, no model)
and for a near miss (the model runs, the match rides along); the seed article (20 segments) with
every segment in the memory against the model alone (tiny untrained models: their speed, not
opus-mt's). The sentences are random draws from the seed's words, so the index sees Arabic
trigrams in realistic proportions.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from xml.sax.saxutils import escape

import grpc
from load import ROOT, SEED, percentile, start_server, stop_server
from tarjama_client.v1 import tarjama_pb2 as pb
from tarjama_client.v1 import tarjama_pb2_grpc as pb_grpc

MEMORY = "bench"


def corpus(entries: int, rng: random.Random) -> list[str]:
    """``entries`` distinct sentences of 8 to 14 words drawn from the seed's vocabulary."""
    words = sorted({word.strip(".,،:؛«»\"'()") for word in SEED.read_text(encoding="utf-8").split()} - {""})
    made: dict[str, None] = {}
    while len(made) < entries:
        made[" ".join(rng.choices(words, k=rng.randint(8, 14))) + "."] = None
    return list(made)


def near_miss(sentence: str, rng: random.Random) -> str:
    """``sentence`` with one word replaced by another of its own: a similar, unsaved sentence."""
    words = sentence.rstrip(".").split()
    words[rng.randrange(len(words))] = rng.choice(words) + "ة"
    return " ".join(words) + "."


def tmx(sources: list[str]) -> bytes:
    units = "".join(
        f'<tu><tuv xml:lang="ar"><seg>{escape(source)}</seg></tuv><tuv xml:lang="en"><seg>approved {number}'
        "</seg></tuv></tu>\n"
        for number, source in enumerate(sources)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<tmx version="1.4"><header srclang="ar" datatype="plaintext" '
        f'segtype="sentence" adminlang="en" o-tmf="bench" creationtool="bench" creationtoolversion="1"/><body>\n'
        f"{units}</body></tmx>\n"
    ).encode()


def timed(call: Callable[[], object], times: int) -> list[float]:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        spent.append(time.perf_counter() - started)
    return spent


def line(name: str, seconds: list[float]) -> str:
    return (
        f"| {name} | {len(seconds)} | {percentile(seconds, 0.5) * 1000:.1f} | {percentile(seconds, 0.95) * 1000:.1f} |"
    )


@contextlib.contextmanager
def database(args: argparse.Namespace, scratch: Path) -> Iterator[str]:
    if args.database_url:
        yield args.database_url
    elif args.postgres:
        sys.path.insert(0, str(ROOT))
        postgres = importlib.import_module("tests.postgres")  # the tests' throwaway cluster

        with postgres.cluster() as running:
            yield running.url().replace("postgresql://", f"postgresql+{args.driver}://")
    else:
        yield f"sqlite:///{scratch / 'desk.db'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--models", type=Path, required=True, help="tiny models directory (tarjama-models build-tiny DIR)"
    )
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--postgres", action="store_true", help="start a throwaway PostgreSQL cluster")
    parser.add_argument("--driver", default="asyncpg", choices=["asyncpg", "psycopg"], help="with --postgres")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    rng = random.Random(7)
    sources = corpus(args.entries, rng)
    document = tmx(sources)
    with tempfile.TemporaryDirectory(prefix="tarjama-bench-desk-") as scratch, database(args, Path(scratch)) as url:
        kind = url.split(":")[0]
        process, address = start_server(
            ["--translation-model", str(args.models / "marian-ar-en"), "--summarization-model", "none",
             "--http-port", "0", "--metrics-port", "0", "--database-url", url, "--data-dir", scratch,
             "--num-beams", "1", "--cache-bytes", "0"],
            Path(scratch) / "server.log",
        )  # fmt: skip
        try:
            with grpc.insecure_channel(address, options=[("grpc.max_send_message_length", 64 * 2**20)]) as channel:
                service = pb_grpc.TarjamaServiceStub(channel)
                started = time.perf_counter()
                imported = service.ImportMemory(pb.ImportMemoryRequest(memory=MEMORY, tmx=document), timeout=3600)
                import_seconds = time.perf_counter() - started
                queries = [near_miss(rng.choice(sources), rng) for _ in range(args.queries)]
                search = iter(queries)
                searching = timed(
                    lambda: service.SearchMemory(pb.SearchMemoryRequest(memory=MEMORY, text=next(search))),
                    len(queries),
                )
                found = sum(
                    bool(service.SearchMemory(pb.SearchMemoryRequest(memory=MEMORY, text=q)).matches)
                    for q in queries[:50]
                )
                exact = iter([rng.choice(sources) for _ in range(args.queries)])
                from_memory = timed(
                    lambda: service.Translate(pb.TranslateRequest(texts=[next(exact)], memory=MEMORY)),
                    args.queries,
                )
                near = iter(queries)
                with_match = timed(
                    lambda: service.Translate(pb.TranslateRequest(texts=[next(near)], memory=MEMORY)), args.queries
                )
                seed = SEED.read_text(encoding="utf-8")
                model_alone = timed(lambda: service.Translate(pb.TranslateRequest(texts=[seed])), 10)
                first = service.Translate(pb.TranslateRequest(texts=[seed]))
                for segment in first.translations[0].segments:
                    if pb.SEGMENT_FLAG_PASSED_THROUGH not in segment.flags:
                        service.SaveTranslation(
                            pb.SaveTranslationRequest(
                                memory="seed", source=segment.source, translation=segment.translation or "-"
                            )
                        )
                memory_seed = timed(lambda: service.Translate(pb.TranslateRequest(texts=[seed], memory="seed")), 10)
                check = service.Translate(pb.TranslateRequest(texts=[seed], memory="seed")).translations[0]
                from_memory_count = sum(pb.SEGMENT_FLAG_FROM_MEMORY in s.flags for s in check.segments)
        finally:
            stop_server(process)
    print(f"## Desk on {kind} ({url.split('@')[-1] if '@' in url else 'a file'})\n")
    print(
        f"ImportMemory of {imported.units} TMX units ({len(document) / 2**20:.1f} MiB, one transaction): "
        f"{import_seconds:.1f} s ({imported.units / import_seconds:,.0f} units/s)\n"
    )
    print("| call | n | p50 ms | p95 ms |\n|---|---|---|---|")
    print(line(f"SearchMemory, near miss, {args.entries:,} entries", searching))
    print(line("Translate, sentence in memory (FROM_MEMORY)", from_memory))
    print(line("Translate, near miss (model + MEMORY_MATCH)", with_match))
    print(line(f"Translate seed, all {from_memory_count} segments in memory", memory_seed))
    print(line("Translate seed, the model alone (tiny model)", model_alone))
    print(f"\nNear misses with a match at the default 0.75: {found}/50; mean seed speed-up "
          f"{statistics.mean(model_alone) / statistics.mean(memory_seed):.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
