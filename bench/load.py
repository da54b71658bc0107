"""Load tool: drive a real Tarjama server over gRPC at rising offered load.

    python bench/load.py --models ./tiny-models          # builds them there if missing

It starts ``tarjama-server`` on a free loopback port (or uses ``--server``), once per kind of
tiny model (``--stops``): ``early`` stops after a short output, as a real model stops after a
sentence; ``unbiased`` never stops early and decodes every segment to its length cap, the
hardest case for admission's estimates. On each it
measures capacity with a closed loop of concurrent callers, then offers open-loop
(Poisson) Translate calls at multiples of that capacity, each with a deadline and
no client retries, and counts every outcome. Per level it reports goodput
(calls finished OK within their deadline per second), refusals, p50/p95 latency
of accepted calls and of refusals. It writes JSON, a Markdown table and a plot
(offered load → goodput) under ``--out``. A benchmark, not a test: it prints
figures and checks nothing. ``--protocol http`` makes every call (capacity, levels, burst) a
Connect JSON call on the HTTP port instead, with its deadline in ``Connect-Timeout-Ms``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import grpc
from tarjama_client import AsyncTarjamaClient, DecodingOptions, RetryPolicy, TarjamaClient, TarjamaError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from connect_http import HttpCallError, HttpConnectClient

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "000_72c42d5ea82af53c.txt"
REFERENCE = ROOT / "seeds" / "000_72c42d5ea82af53c.reference.en.txt"


@dataclass
class Level:
    models: str  # which tiny models: "early", "unbiased" (or "server" with --server)
    multiple: float  # offered load as a multiple of measured capacity
    offered_rps: float
    sent: int = 0
    ok: int = 0
    refused: int = 0  # RESOURCE_EXHAUSTED
    deadline_exceeded: int = 0
    other: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0  # first call sent → last call ended
    goodput_rps: float = 0.0
    accepted_p50_s: float = 0.0
    accepted_p95_s: float = 0.0
    refusal_p50_ms: float = 0.0
    refusal_p95_ms: float = 0.0
    calls: list[tuple[float, str, float]] = field(default_factory=list)  # (sent at s, outcome, seconds)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def excerpt(sentences: int) -> str:
    from tarjama_server.text.segmentation import split_sentences

    article = SEED.read_text(encoding="utf-8")
    return article[: split_sentences(article)[sentences - 1].end]


def translation_model(models: Path, stop: str) -> Path:
    """The tiny translation model that stops ``stop`` ("early" or "unbiased"), built if missing."""
    seed, reference = SEED.read_text(encoding="utf-8"), REFERENCE.read_text(encoding="utf-8")
    if stop == "early":
        if not (models / "marian-ar-en").exists():
            from tarjama_server.loading.tiny_models import build_tiny_models

            print(f"building tiny models in {models} ...", flush=True)
            build_tiny_models(models, seed, reference)
        return models / "marian-ar-en"
    path = models / f"stop-{stop}" / "marian-ar-en"
    if not path.exists():
        from tarjama_server.loading.tiny_models import build_tiny_marian

        print(f"building a tiny Marian (stop={stop}) in {path} ...", flush=True)
        build_tiny_marian(path, seed, reference, stop=stop)  # type: ignore[arg-type]
    return path


def server_command(port: int, flags: Sequence[str]) -> list[str]:
    """``tarjama-server`` on loopback ``port``, offline, with ``flags``."""
    return [sys.executable, "-m", "tarjama_server.app", "--host", "127.0.0.1", "--port", str(port), "--offline", *flags]


def start_server(flags: Sequence[str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A ``tarjama-server`` with ``flags`` on a free loopback port, its output in ``log``; returned
    once it is ready, with its gRPC address."""
    port = free_port()
    process = subprocess.Popen(server_command(port, flags), stdout=log.open("wb"), stderr=subprocess.STDOUT)
    address = f"127.0.0.1:{port}"
    with TarjamaClient(address) as client:
        client.wait_until_ready(timeout=300)
    return process, address


def stop_server(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None:
        process.terminate()
        process.wait(60)


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """``--models`` (the tiny models a started server runs), ``--server`` (a running one instead)
    and the extra ``tarjama-server`` flags after ``--``."""
    parser.add_argument("--models", type=Path, help="tiny models directory (built there if missing)")
    parser.add_argument("--server", help="use a running server at HOST:PORT instead of starting one")
    parser.add_argument("server_args", nargs="*", help="extra tarjama-server flags (after --)")


def parse_server_arguments(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """The arguments, once ``--models`` or ``--server`` is given; ``--out`` made."""
    args = parser.parse_args()
    if not args.server and not args.models:
        parser.error("give --models DIR (tiny models) or --server HOST:PORT")
    args.out.mkdir(parents=True, exist_ok=True)
    return args


class Caller:
    """One Translate call over gRPC (``address`` HOST:PORT) or HTTP (``address`` a URL)."""

    def __init__(self, address: str, *, retry: bool, timeout: float) -> None:
        self.http = address.startswith("http")
        self._grpc: AsyncTarjamaClient | None = None
        if not self.http:
            policy = RetryPolicy() if retry else RetryPolicy.disabled()
            self._grpc = AsyncTarjamaClient(address, timeout=timeout, retry=policy)
        self._http = HttpConnectClient(address, timeout=timeout) if self.http else None

    async def __aenter__(self) -> Caller:
        if self._grpc is not None:
            await self._grpc.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._grpc is not None:
            await self._grpc.__aexit__(*exc)

    async def translate(self, text: str, options: DecodingOptions) -> None:
        if self._http is not None:
            await self._http.translate(text, options={"maxNewTokens": options.max_new_tokens})
        else:
            assert self._grpc is not None
            await self._grpc.translate(text, options=options)


async def measure_capacity(address: str, text: str, options: DecodingOptions, callers: int, seconds: float) -> float:
    """Requests a second that ``callers`` back-to-back callers get through (a closed loop; the
    client's retries wait out refusals; over HTTP, a refused call is tried again). 0 when
    ``seconds`` is 0 (not measured)."""
    if seconds <= 0:
        return 0.0
    done = 0
    async with Caller(address, retry=True, timeout=600) as client:
        await client.translate(text, options=options)  # warm-up
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        started = loop.time()

        async def caller() -> None:
            nonlocal done
            while loop.time() < end:
                try:
                    await client.translate(text, options=options)
                except (TarjamaError, HttpCallError):
                    continue  # refused past the retries: not a call got through
                done += 1

        await asyncio.gather(*(caller() for _ in range(callers)))
        return done / (loop.time() - started)


async def offer(
    address: str,
    text: str,
    options: DecodingOptions,
    level: Level,
    seconds: float,
    deadline: float,
    rng: random.Random,
    burst: int = 0,
) -> Level:
    """Open loop: Poisson arrivals at ``level.offered_rps`` for ``seconds``, or ``burst``
    calls all at once; every call is awaited."""
    accepted: list[float] = []
    refusals: list[float] = []
    async with Caller(address, retry=False, timeout=deadline) as client:
        loop = asyncio.get_running_loop()

        async def one() -> None:
            started = loop.time()
            try:
                await client.translate(text, options=options)
            except (TarjamaError, HttpCallError) as error:
                code = error.code.name if error.code else "UNKNOWN"
                level.calls.append((round(started - begin, 3), code, round(loop.time() - started, 3)))
                if error.code == grpc.StatusCode.RESOURCE_EXHAUSTED:
                    level.refused += 1
                    refusals.append(loop.time() - started)
                elif error.code == grpc.StatusCode.DEADLINE_EXCEEDED:
                    level.deadline_exceeded += 1
                else:
                    level.other[code] = level.other.get(code, 0) + 1
                return
            took = loop.time() - started
            level.calls.append((round(started - begin, 3), "OK", round(took, 3)))
            if took <= deadline:
                level.ok += 1
                accepted.append(took)

        begin = loop.time()
        calls: list[asyncio.Task[None]] = [asyncio.ensure_future(one()) for _ in range(burst)]
        next_at = begin if not burst else begin + seconds
        while next_at < begin + seconds:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            calls.append(asyncio.ensure_future(one()))
            next_at += rng.expovariate(level.offered_rps)
        await asyncio.gather(*calls)
        level.sent = len(calls)
        level.seconds = loop.time() - begin
    level.goodput_rps = level.ok / level.seconds
    level.accepted_p50_s = round(percentile(accepted, 0.5), 3)
    level.accepted_p95_s = round(percentile(accepted, 0.95), 3)
    level.refusal_p50_ms = round(1000 * percentile(refusals, 0.5), 1)
    level.refusal_p95_ms = round(1000 * percentile(refusals, 0.95), 1)
    return level


def markdown(levels: list[Level], capacities: dict[str, float]) -> str:
    lines = [
        "Capacity (closed loop): " + ", ".join(f"{name} {rps:.2f} calls/s" for name, rps in capacities.items()),
        "",
        "| models | offered (× capacity) | offered calls/s | sent | OK | refused | deadline exceeded | other "
        "| goodput calls/s | accepted p50 / p95 s | refusal p50 / p95 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for lv in levels:
        other = sum(lv.other.values())
        offered = f"{lv.multiple:g}×" if lv.multiple else f"burst of {lv.sent}"
        latency = f"{lv.accepted_p50_s:.2f} / {lv.accepted_p95_s:.2f}"
        refusal = f"{lv.refusal_p50_ms:.0f} / {lv.refusal_p95_ms:.0f}"
        lines.append(
            f"| {lv.models} | {offered} | {lv.offered_rps:.2f} | {lv.sent} | {lv.ok} | {lv.refused} "
            f"| {lv.deadline_exceeded} | {other} | {lv.goodput_rps:.2f} | {latency} | {refusal} |"
        )
    return "\n".join(lines) + "\n"


def plot(levels: list[Level], capacities: dict[str, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for name, capacity in capacities.items():
        mine = [lv for lv in levels if lv.models == name]
        offered = [lv.offered_rps for lv in mine]
        axes.plot(offered, [lv.goodput_rps for lv in mine], "o-", label=f"{name}: goodput (OK within deadline)")
        axes.plot(offered, [lv.refused / lv.seconds for lv in mine], "s--", label=f"{name}: refused")
        axes.axvline(capacity, color="grey", linestyle=":")
    axes.set_xscale("log")
    axes.set_xlabel("offered load (calls/s)")
    axes.set_ylabel("calls/s")
    axes.set_title("Tarjama Translate under load")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def run_levels(address: str, name: str, args: argparse.Namespace, text: str) -> tuple[float, list[Level]]:
    """Capacity, each offered level, then the burst, on the server at ``address``."""
    options = DecodingOptions(max_new_tokens=args.max_new_tokens)
    capacity = asyncio.run(measure_capacity(address, text, options, args.capacity_callers, args.capacity_seconds))
    print(f"{name}: capacity {capacity:.2f} calls/s", flush=True)
    rng = random.Random(args.seed)
    levels = []
    for multiple in (float(m) for m in args.levels.split(",") if m):
        level = Level(models=name, multiple=multiple, offered_rps=multiple * capacity)
        asyncio.run(offer(address, text, options, level, args.seconds, args.deadline, rng))
        print(markdown([level], {name: capacity}).splitlines()[-1], flush=True)
        levels.append(level)
    if args.burst:
        level = Level(models=name, multiple=0, offered_rps=0)  # 0: a burst of --burst calls at once
        asyncio.run(offer(address, text, options, level, 0.0, args.burst_deadline, rng, burst=args.burst))
        print(markdown([level], {name: capacity}).splitlines()[-1], flush=True)
        levels.append(level)
    return capacity, levels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_server_arguments(parser)
    parser.add_argument("--stops", default="early,unbiased", help="tiny models to run on, in order: early, unbiased")
    parser.add_argument("--levels", default="0.5,1,2,5,10", help="offered load as multiples of measured capacity")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long each level offers calls")
    parser.add_argument("--deadline", type=float, default=20.0, help="each call's deadline, in seconds")
    parser.add_argument("--capacity-seconds", type=float, default=20.0, help="0: not measured (with --levels '')")
    parser.add_argument("--capacity-callers", type=int, default=32, help="enough to keep batches full")
    parser.add_argument("--sentences", type=int, default=20, help="sentences of the seed article per call (20: all)")
    parser.add_argument("--max-new-tokens", type=int, default=0, help="per segment; 0 = the server's default cap")
    parser.add_argument("--num-beams", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--burst", type=int, default=200, help="then N calls at once (0: none)")
    parser.add_argument("--burst-deadline", type=float, default=180.0)
    parser.add_argument("--protocol", choices=["grpc", "http"], default="grpc", help="which port the calls use")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parse_server_arguments(parser)
    text = excerpt(args.sentences)
    capacities: dict[str, float] = {}
    levels: list[Level] = []
    for name in ["server"] if args.server else args.stops.split(","):
        process = None
        address = args.server
        if not address:
            flags = [
                "--metrics-port", "0", "--translation-model", str(translation_model(args.models, name)),
                "--summarization-model", "none", "--num-beams", str(args.num_beams), "--log-level", "INFO",
                *args.server_args,
            ]  # fmt: skip
            http_port = free_port()
            if args.protocol == "http":
                flags += ["--http-port", str(http_port)]
            process, address = start_server(flags, args.out / f"server-{name}.log")
            if args.protocol == "http":
                address = f"http://127.0.0.1:{http_port}/"
        try:
            capacities[name], measured = run_levels(address, name, args, text)
            levels += measured
        finally:
            stop_server(process)
    steady = [lv for lv in levels if lv.multiple]
    ratios = {}
    for name in capacities:
        mine = [lv for lv in steady if lv.models == name]
        at_capacity = next((lv for lv in mine if lv.multiple == 1), None)
        if mine and at_capacity and at_capacity.goodput_rps:
            ratios[name] = mine[-1].goodput_rps / at_capacity.goodput_rps
    report = {
        "capacity_rps": capacities,
        "settings": {k: str(v) for k, v in vars(args).items()},
        "text_chars": len(text),
        "cpu_count": os.cpu_count(),
        "levels": [asdict(lv) for lv in levels],
        "goodput_at_max_vs_capacity": ratios,
    }
    (args.out / "load.json").write_text(json.dumps(report, indent=2))
    table = markdown(levels, capacities)
    (args.out / "load.md").write_text(table)
    if steady:
        plot(steady, capacities, args.out / "load.png")
    print(table)
    for name, ratio in ratios.items():
        last = [lv for lv in steady if lv.models == name][-1]
        print(f"{name}: goodput at {last.multiple:g}× / goodput at 1×: {ratio:.2f}")
    print(f"wrote {args.out}/load.json, load.md, load.png; server logs in {args.out}/server-*.log")


if __name__ == "__main__":
    main()
