"""Scale-out of ``tarjama batch``: items a second against one server and against two, in one run.

    python bench/batch.py --models ./tiny-models     # builds them there if missing; about 2 minutes

Each server is ``tarjama-server`` pinned to a core of its own (``taskset -c N``, one torch
thread). The archive is JSON Lines of news items of 1 to 4 sentences of the seed article.
For one server, then for two (``--server ipv4:A,B``: the client's round-robin), it runs the
real command, ``tarjama batch``, unpinned, into a fresh output, after a warm-up batch, and
reads its JSON summary. The two set-ups alternate for ``--rounds`` rounds, so both see the
machine's other load alike; the table gives each round and the median, and how much CPU
the servers got (from /proc), which says how much of the machine other work took. It writes
``bench/results/batch.json`` and ``batch.md``. A benchmark, not a test: it prints figures and
checks nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from load import SEED, free_port, server_command, translation_model
from tarjama_client import TarjamaClient

ROOT = Path(__file__).resolve().parents[1]


def write_archive(path: Path, items: int, offset: int = 0) -> None:
    from tarjama_server.text.segmentation import split_sentences

    article = SEED.read_text(encoding="utf-8")
    sentences = [article[span.start : span.end] for span in split_sentences(article)]
    with path.open("w", encoding="utf-8") as handle:
        for n in range(items):
            first, count = (n * 7) % len(sentences), 1 + n % 4
            text = " ".join(sentences[(first + k) % len(sentences)] for k in range(count))
            handle.write(json.dumps({"id": f"item-{offset + n}", "text": f"{text} ({offset + n})"}, ensure_ascii=False))
            handle.write("\n")


class Servers:
    """``tarjama-server`` processes, each pinned to one core, with one torch thread."""

    def __init__(self, models: Path, cores: list[int], log: Path, num_beams: int) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []
        self.addresses: list[str] = []
        self._log = log.open("ab")
        for core in cores:
            port = free_port()
            flags = [
                "--metrics-port", "0", "--translation-model", str(models / "marian-ar-en"),
                "--summarization-model", "none", "--torch-threads", "1", "--num-beams", str(num_beams),
            ]  # fmt: skip
            command = ["taskset", "-c", str(core), *server_command(port, flags)]
            self.processes.append(subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT))
            self.addresses.append(f"127.0.0.1:{port}")
        for address in self.addresses:
            with TarjamaClient(address) as client:
                client.wait_until_ready(timeout=300)

    def cpu_seconds(self) -> float:
        """CPU time the servers have used so far (user + system), from /proc."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for process in self.processes:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        return total

    @property
    def target(self) -> str:
        return self.addresses[0] if len(self.addresses) == 1 else "ipv4:" + ",".join(self.addresses)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._log.close()


def run_batch(target: str, archive: Path, output: Path, concurrency: int) -> dict[str, Any]:
    command = [
        sys.executable, "-m", "tarjama_client.cli", "--server", target,
        "batch", str(archive), "--output", str(output), "--concurrency", str(concurrency),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"tarjama batch exited {done.returncode}: {done.stderr[-2000:]}")
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def measure(
    models: Path, cores: list[int], work: Path, archive: Path, warmup: Path, args: argparse.Namespace
) -> dict[str, Any]:
    servers = Servers(models, cores, work / "servers.log", args.num_beams)
    try:
        stamp = time.monotonic_ns()
        run_batch(servers.target, warmup, work / f"warmup-{stamp}.jsonl", args.concurrency)
        cpu = servers.cpu_seconds()
        summary = run_batch(servers.target, archive, work / f"out-{stamp}.jsonl", args.concurrency)
        cpu = servers.cpu_seconds() - cpu
    finally:
        servers.stop()
    return {
        "servers": len(cores),
        "items": summary["items"],
        "seconds": summary["seconds"],
        "items_per_second": summary["items_per_second"],
        "segments_per_second": summary["segments_per_second"],
        # How much of their cores the servers got: below 1 a server, the machine's other load took the rest.
        "server_cores_used": round(cpu / summary["seconds"], 2),
        "items_per_server_cpu_second": round(summary["items"] / cpu, 1),
        "concurrency_highest": summary["concurrency"]["highest"],
        "load_average": round(os.getloadavg()[0], 2),  # the machine's, over the last minute
    }


def markdown(rounds: list[dict[str, dict[str, Any]]], medians: dict[str, float], factor: float) -> str:
    lines = [
        "| round | servers | items | seconds | items/s | segments/s | cores the servers got "
        "| items per server CPU-s | most calls in flight | load average |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for number, measured in enumerate(rounds, 1):
        for name in ("one", "two"):
            m = measured[name]
            lines.append(
                f"| {number} | {m['servers']} | {m['items']} | {m['seconds']:.1f} | {m['items_per_second']:.1f} | "
                f"{m['segments_per_second']:.1f} | {m['server_cores_used']:.2f} | {m['items_per_server_cpu_second']} | "
                f"{m['concurrency_highest']} | {m['load_average']} |"
            )
    lines.append(f"| median | 1 | | | {medians['one']:.1f} | | | | | |")
    lines.append(f"| median | 2 | | | {medians['two']:.1f} | | | | | |")
    lines.append("")
    lines.append(f"Scale-out factor (median items/s, two servers / one): **{factor:.2f}×**")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, default=ROOT / "tiny-models", help="holds marian-ar-en/")
    parser.add_argument("--items", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=64, help="tarjama batch --concurrency: the cap")
    parser.add_argument("--num-beams", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("needs two cores: one per server")
    cores = sorted(os.sched_getaffinity(0))[:2]
    translation_model(args.models, "early")  # built if missing
    args.out.mkdir(parents=True, exist_ok=True)
    rounds: list[dict[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="tarjama-bench-batch-") as directory:
        work = Path(directory)
        archive, warmup = work / "archive.jsonl", work / "warmup.jsonl"
        write_archive(archive, args.items)
        write_archive(warmup, 40, offset=args.items)
        for number in range(args.rounds):
            measured = {}
            for name, pinned in (("one", cores[:1]), ("two", cores)):
                measured[name] = measure(args.models, pinned, work, archive, warmup, args)
                print(f"round {number + 1}, {name}: {json.dumps(measured[name])}", flush=True)
            rounds.append(measured)
    medians = {name: statistics.median(r[name]["items_per_second"] for r in rounds) for name in ("one", "two")}
    factor = medians["two"] / medians["one"]
    table = markdown(rounds, medians, factor)
    (args.out / "batch.md").write_text(table, encoding="utf-8")
    results = {"rounds": rounds, "median_items_per_second": medians, "scale_out": factor, "cores": cores}
    (args.out / "batch.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
