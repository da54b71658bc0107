"""Hostile HTTP clients against a real server, and what a normal caller sees meanwhile (#22 items 2, 3).

    python bench/hostile_http.py --models ./tiny-models        # builds them there if missing

1. Hang-ups: ``--hangups`` callers each send a distinct seed-length article to Translate and drop
   the connection after ``--hangup-after`` seconds; a short call is then timed against its usual
   latency (measured before), and the server's CANCELLED count is read from /metrics.
2. Idle and slow connections: ``--idle`` connections that send nothing and ``--slow`` that send a
   request's headers a byte a second are held for ``--hold`` seconds (each reopened when the
   server closes it); meanwhile normal calls are timed, and the server's open file descriptors
   are counted (/proc). Its header timeout and connection bound are the server's defaults unless
   flags after ``--`` say otherwise.

A benchmark, not a test: it prints figures and checks nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load
from connect_http import HttpCallError, HttpConnectClient
from load import ROOT, SEED, free_port, translation_model

SHORT = "حلب تحت سيطرة النظام"


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def cancelled(metrics: str) -> float:
    with urllib.request.urlopen(f"http://{metrics}/metrics", timeout=30) as reply:
        text = reply.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("tarjama_requests_total{") and 'code="CANCELLED"' in line and 'protocol="http"' in line
    )


async def timed_calls(client: HttpConnectClient, n: int) -> list[float]:
    took = []
    for _ in range(n):
        began = time.monotonic()
        await client.translate(SHORT)
        took.append(time.monotonic() - began)
    return took


async def hang_up(host: str, port: int, article: str, after: float) -> None:
    body = json.dumps({"texts": [article]}).encode()
    _, writer = await asyncio.open_connection(host, port)
    head = "POST /tarjama.v1.TarjamaService/Translate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
    writer.write((head + f"content-length: {len(body)}\r\n\r\n").encode() + body)
    await writer.drain()
    await asyncio.sleep(after)
    writer.close()


async def hangups(url: str, host: str, port: int, metrics: str, args: argparse.Namespace) -> dict[str, object]:
    client = HttpConnectClient(url, timeout=600)
    await client.translate(SHORT)  # warm-up
    usual = await timed_calls(client, 5)
    before = cancelled(metrics)
    seed = SEED.read_text(encoding="utf-8")
    # Distinct articles of the seed's length: no cache, no batching of identical inputs.
    articles = [f"{n} {seed[: len(seed) - len(str(n)) - 1]}" for n in range(args.hangups)]
    await asyncio.gather(*(hang_up(host, port, article, args.hangup_after) for article in articles))
    began = time.monotonic()
    await client.translate(SHORT)
    after = time.monotonic() - began
    return {
        "hangups": args.hangups,
        "dropped_after_s": args.hangup_after,
        "short_call_usual_median_s": round(statistics.median(usual), 3),
        "short_call_usual_max_s": round(max(usual), 3),
        "short_call_after_hangups_s": round(after, 3),
        "cancelled_counted": cancelled(metrics) - before,
    }


async def hold(host: str, port: int, slow: bool, until: float, closed: list[int]) -> None:
    """One connection held (reopened when closed) until ``until``: silent, or headers a byte a second."""
    request = b"POST /tarjama.v1.TarjamaService/Translate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
    while time.monotonic() < until:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.5)
            continue
        try:
            at = 0
            while time.monotonic() < until:
                if slow:
                    writer.write(request[at % len(request) : at % len(request) + 1])
                    at += 1
                    await writer.drain()
                try:
                    if await asyncio.wait_for(reader.read(65536), 1.0) == b"":
                        break  # closed by the server
                except TimeoutError:
                    continue
        except OSError:
            pass
        finally:
            writer.close()
        closed[0] += 1


async def connections(url: str, host: str, port: int, pid: int, args: argparse.Namespace) -> dict[str, object]:
    client = HttpConnectClient(url, timeout=600)
    usual = await timed_calls(client, 5)
    fds_before = open_fds(pid)
    until = time.monotonic() + args.hold
    closed = [0]
    holders = [asyncio.ensure_future(hold(host, port, False, until, closed)) for _ in range(args.idle)]
    holders += [asyncio.ensure_future(hold(host, port, True, until, closed)) for _ in range(args.slow)]
    await asyncio.sleep(min(5.0, args.hold / 3))  # let them connect
    during, fds = [], []
    while time.monotonic() < until - 1:
        fds.append(open_fds(pid))
        try:
            during += await timed_calls(client, 1)
        except (HttpCallError, OSError) as error:
            during.append(float("nan"))
            print("normal call failed:", error, flush=True)
        await asyncio.sleep(1.0)
    await asyncio.gather(*holders)
    return {
        "idle": args.idle,
        "slow_header": args.slow,
        "held_s": args.hold,
        "normal_call_usual_median_s": round(statistics.median(usual), 3),
        "normal_calls_while_held": len(during),
        "normal_call_while_held_median_s": round(statistics.median(during), 3) if during else None,
        "normal_call_while_held_max_s": round(max(during), 3) if during else None,
        "server_fds_before": fds_before,
        "server_fds_while_held_max": max(fds) if fds else None,
        "connections_closed_by_server": closed[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, required=True, help="tiny models directory (built there if missing)")
    parser.add_argument("server_args", nargs="*", help="extra tarjama-server flags (after --)")
    parser.add_argument("--hangups", type=int, default=40)
    parser.add_argument("--hangup-after", type=float, default=0.3)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--slow", type=int, default=200)
    parser.add_argument("--hold", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))  # this client's sockets
    http_port, metrics_port = free_port(), free_port()
    flags = [
        "--metrics-port", str(metrics_port), "--http-port", str(http_port),
        "--translation-model", str(translation_model(args.models, "early")), "--summarization-model", "none",
        "--num-beams", "1", "--log-level", "WARNING", *args.server_args,
    ]  # fmt: skip
    process, _ = load.start_server(flags, args.out / "hostile-http-server.log")
    url, host = f"http://127.0.0.1:{http_port}/", "127.0.0.1"
    try:
        report = {
            "hangups": asyncio.run(hangups(url, host, http_port, f"127.0.0.1:{metrics_port}", args)),
            "connections": asyncio.run(connections(url, host, http_port, process.pid, args)),
        }
    finally:
        load.stop_server(process)
    (args.out / "hostile_http.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
