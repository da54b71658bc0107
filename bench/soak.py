"""Soak: a long run of mixed calls against a real server, watching for leaks and drift.

    python bench/soak.py --models ./tiny-models              # builds them there if missing

It starts ``tarjama-server`` on free loopback ports with the tiny models (or uses ``--server``
with ``--metrics``), then keeps ``--callers`` concurrent callers busy with a mix of calls for at
least ``--minutes`` and at least ``--calls`` calls: headlines, article excerpts, the whole seed
article, HTML, glossaries, streaming, summaries, English that passes through, and bad input. Each
call has a deadline and no client retries; every outcome is counted. After ``--warmup`` seconds
and at the end it records the server's RSS, open file descriptors, threads and asyncio tasks
(``/proc`` and the server's ``/metrics``), and it prints p50/p95 latency of OK calls per minute.
Half the callers use the gRPC port and half the HTTP port (Connect JSON; ``--http-share``), at the
same time, with the same mix; outcomes are counted per protocol.
A benchmark, not a test: it prints figures and checks nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tarjama_client import AsyncTarjamaClient, RetryPolicy, TarjamaError

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load
from connect_http import HttpCallError, HttpConnectClient
from load import ROOT, SEED, excerpt, free_port, percentile, translation_model

HEADLINES = ["حلب تحت سيطرة النظام", "Photo: حلب", "انفجار في مرفأ بيروت", "ارتفاع أسعار النفط بعد قرار أوبك"]
HTML = (
    '<article><h1>حلب تحت سيطرة النظام</h1><p>قال <a href="/x">المتحدث</a> إن <b>الوضع</b> صعب.</p>'
    '<!x><img alt="صورة من حلب"></article>'
)
GLOSSARY = {"حلب": "Aleppo", "الأونروا": "UNRWA"}
ENGLISH = "The minister said talks would resume next week in Geneva.\n" * 20


@dataclass
class Snapshot:
    at_seconds: float
    rss_mib: float
    open_fds: int
    threads: int
    asyncio_tasks: float


@dataclass
class Tally:
    outcomes: dict[str, int] = field(default_factory=dict)
    # (minute, kind, seconds) of every OK call
    ok: list[tuple[int, str, float]] = field(default_factory=list)
    calls: int = 0


def snapshot(pid: int | None, metrics: str, started: float) -> Snapshot:
    rss, fds, threads = 0.0, 0, 0
    if pid is not None:
        status = Path(f"/proc/{pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        rss = int(fields["VmRSS"].split()[0]) / 1024
        threads = int(fields["Threads"])
        fds = len(list(Path(f"/proc/{pid}/fd").iterdir()))
    tasks = float("nan")
    if metrics:
        with urllib.request.urlopen(f"http://{metrics}/metrics", timeout=10) as response:
            for line in response.read().decode().splitlines():
                if line.startswith("tarjama_asyncio_tasks "):
                    tasks = float(line.split()[1])
    return Snapshot(round(time.monotonic() - started, 1), round(rss, 1), fds, threads, tasks)


def start_server(models: Path, args: argparse.Namespace) -> tuple[subprocess.Popen[bytes], str, str]:
    translation = translation_model(models, "early")
    metrics_port = free_port()
    args.http = args.http or f"http://127.0.0.1:{free_port()}/"
    flags = [
        "--http-port", args.http.rsplit(":", 1)[1].strip("/"),
        "--metrics-port", str(metrics_port), "--translation-model", str(translation),
        "--summarization-model", str(translation.parent / "mt5-summarizer"), "--num-beams", "1",
        "--summary-num-beams", "1", "--log-level", "WARNING", *args.server_args,
    ]  # fmt: skip
    process, address = load.start_server(flags, args.out / "soak-server.log")
    return process, address, f"127.0.0.1:{metrics_port}"


def mix(article: str) -> list[tuple[str, float, Callable[[Any], Awaitable[object]]]]:
    """(kind, weight, call) of every kind of call the soak makes, with an ``AsyncTarjamaClient`` or an
    ``HttpConnectClient`` (the same calls and keywords)."""
    short = excerpt(3)

    async def stream(client: Any) -> int:
        return len([event async for event in client.stream_translate(short)])

    return [
        ("headline", 30, lambda c: c.translate(random.choice(HEADLINES))),
        ("excerpt", 15, lambda c: c.translate(short)),
        ("article", 3, lambda c: c.translate(article)),
        ("html", 10, lambda c: c.translate(HTML, mime_type="text/html")),
        ("glossary", 10, lambda c: c.translate(short, glossary=GLOSSARY)),
        ("stream", 10, stream),
        ("summary", 2, lambda c: c.summarize(short, style="headline")),
        ("english", 5, lambda c: c.translate(ENGLISH)),
        ("bad-empty", 5, lambda c: c.translate("")),
        ("bad-language", 5, lambda c: c.translate("حلب", source_language="arabic!")),
        ("bad-html", 5, lambda c: c.translate("<p><img src=x></p>", mime_type="text/html")),
    ]


async def soak(address: str, args: argparse.Namespace, pid: int | None, metrics: str) -> dict[str, object]:
    article = SEED.read_text(encoding="utf-8")
    kinds = mix(article)
    weights = [weight for _, weight, _ in kinds]
    tally = Tally()
    started = time.monotonic()
    end = started + args.minutes * 60
    warm: list[Snapshot] = []

    async def caller(client: Any, protocol: str, rng: random.Random) -> None:
        while time.monotonic() < end or tally.calls < args.calls:
            kind, _, call = rng.choices(kinds, weights)[0]
            began = time.monotonic()
            tally.calls += 1
            try:
                await asyncio.wait_for(call(client), args.deadline + 5)
                outcome = "OK"
                tally.ok.append((int((began - started) // 60), kind, time.monotonic() - began))
            except (TarjamaError, HttpCallError) as error:
                outcome = error.code.name if error.code else "UNKNOWN"
            except TimeoutError:
                outcome = "CLIENT_TIMEOUT"
            except OSError as error:  # the HTTP port refused or reset the connection
                outcome = type(error).__name__
            key = f"{protocol} {kind} {outcome}"
            tally.outcomes[key] = tally.outcomes.get(key, 0) + 1

    async def watch() -> None:
        await asyncio.sleep(args.warmup)
        warm.append(snapshot(pid, metrics, started))
        print(f"after warm-up: {warm[0]}", flush=True)
        while time.monotonic() < end or tally.calls < args.calls:
            await asyncio.sleep(60)
            print(f"{time.monotonic() - started:5.0f} s: {tally.calls} calls", flush=True)

    http_client = HttpConnectClient(args.http, timeout=args.deadline) if args.http else None
    http_callers = round(args.callers * args.http_share) if http_client else 0
    async with AsyncTarjamaClient(address, retry=RetryPolicy.disabled(), timeout=args.deadline) as client:
        watcher = asyncio.ensure_future(watch())
        await asyncio.gather(
            *(
                caller(http_client, "http", random.Random(args.seed + n))
                if n < http_callers
                else caller(client, "grpc", random.Random(args.seed + n))
                for n in range(args.callers)
            )
        )
        watcher.cancel()
    seconds = time.monotonic() - started
    last = snapshot(pid, metrics, started)
    minutes = []
    for minute in sorted({minute for minute, _, _ in tally.ok}):
        taken = [seconds for at, _, seconds in tally.ok if at == minute]
        minutes.append({"minute": minute + 1, "ok": len(taken), "p50_s": round(percentile(taken, 0.5), 3),
                        "p95_s": round(percentile(taken, 0.95), 3)})  # fmt: skip
    return {
        "calls": tally.calls,
        "seconds": round(seconds, 1),
        "outcomes": dict(sorted(tally.outcomes.items())),
        "after_warmup": warm[0].__dict__ if warm else None,
        "at_end": last.__dict__,
        "per_minute": minutes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    load.add_server_arguments(parser)
    parser.add_argument("--metrics", default="", help="with --server: its metrics HOST:PORT (asyncio tasks)")
    parser.add_argument("--pid", type=int, help="with --server: its process id (RSS, fds, threads)")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--calls", type=int, default=20_000, help="at least this many calls, however long it takes")
    parser.add_argument("--callers", type=int, default=24)
    parser.add_argument("--deadline", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before the first snapshot")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--http", default="", help="with --server: its HTTP URL (http://HOST:PORT/)")
    parser.add_argument("--http-share", type=float, default=0.5, help="share of the callers on the HTTP port")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = load.parse_server_arguments(parser)
    process = None
    address, metrics, pid = args.server, args.metrics, args.pid
    if not address:
        process, address, metrics = start_server(args.models, args)
        pid = process.pid
    try:
        report = asyncio.run(soak(address, args, pid, metrics))
    finally:
        load.stop_server(process)
    (args.out / "soak.json").write_text(json.dumps(report, indent=2))
    print(json.dumps({key: report[key] for key in ("calls", "seconds", "after_warmup", "at_end")}, indent=2))
    warm, last = report["after_warmup"], report["at_end"]
    if isinstance(warm, dict) and isinstance(last, dict) and warm["rss_mib"]:
        print(f"RSS at the end / after warm-up: {last['rss_mib'] / warm['rss_mib']:.3f}")
    print("| minute | OK calls | p50 s | p95 s |\n|---|---|---|---|")
    for row in report["per_minute"]:  # type: ignore[attr-defined]
        print(f"| {row['minute']} | {row['ok']} | {row['p50_s']:.2f} | {row['p95_s']:.2f} |")
    print("outcomes:", json.dumps(report["outcomes"], indent=1))
    print(f"wrote {args.out}/soak.json; server log in {args.out}/soak-server.log")


if __name__ == "__main__":
    main()
