"""Compare the two candidate stacks for the HTTP/JSON transport on the same unary Connect call.

Each serves POST /tarjama.v1.TarjamaService/Translate under uvicorn, in a process of its own,
with the same JSON codec (json_format printing zero values, UTF-8 kept): the request (the seed
article) comes back as a TranslateResponse, no model involved, so the figures are the stacks'
own cost. Prints a Markdown table of per-call latency (sequential calls over one keep-alive
connection) for each round; the stacks alternate, to spread the machine's other load.

    python scripts/compare_http_stacks.py [--calls 1000] [--rounds 2]

Candidates: Starlette (the server's dependency) and connectrpc, measured only when installed
with its code generator at matching versions:
    pip install connectrpc==0.9.0 protoc-gen-connect-python==0.9.0
(connectrpc 0.13.0, the newest, fails on the code protoc-gen-connect-python 0.9.0, the newest,
generates: MethodInfo() lacks its stream_type.)
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "000_72c42d5ea82af53c.txt"
PATH = "/tarjama.v1.TarjamaService/Translate"


def encode(message: Any) -> bytes:
    from google.protobuf import json_format

    fields = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


def respond(pb: Any, request: Any) -> Any:
    return pb.TranslateResponse(
        translations=[
            pb.Translation(text=t, segments=[pb.Segment(source=t, translation=t, source_end=len(t))])
            for t in request.texts
        ],
        model="echo",
    )


def starlette_app() -> Any:
    from google.protobuf import json_format
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route
    from tarjama_client.v1 import tarjama_pb2 as pb

    async def translate(request: Request) -> Response:
        message = json_format.Parse(await request.body(), pb.TranslateRequest(), ignore_unknown_fields=False)
        return Response(encode(respond(pb, message)), media_type="application/json")

    return Starlette(routes=[Route(PATH, translate, methods=["POST"])])


def connect_app(generated: str) -> Any:
    sys.path.insert(0, generated)
    import connectrpc._codec as registry  # 0.9.0: a process-global codec registry
    from google.protobuf import json_format
    from tarjama.v1 import tarjama_pb2 as pb
    from tarjama.v1.tarjama_connect import TarjamaServiceASGIApplication

    class Codec:
        def name(self) -> str:
            return "json"

        def encode(self, message: Any) -> bytes:
            return encode(message)

        def decode(self, data: bytes, message: Any) -> Any:
            json_format.Parse(data, message, ignore_unknown_fields=False)
            return message

    registry._codecs["json"] = registry._codecs["json; charset=utf-8"] = Codec()

    class Service:
        async def translate(self, request: Any, ctx: Any) -> Any:
            return respond(pb, request)

        stream_translate = summarize = list_models = translate

    return TarjamaServiceASGIApplication(Service())


def generate_connect(work: Path) -> str | None:
    """The connectrpc code for proto/ in ``work``, or None when connectrpc or its plugin is missing."""
    plugin = shutil.which("protoc-gen-connect-python") or str(Path(sys.executable).parent / "protoc-gen-connect-python")
    try:
        import connectrpc  # noqa: F401
    except ImportError:
        return None
    if not Path(plugin).exists():
        return None
    from grpc_tools import protoc

    args = ["protoc", f"-I{ROOT / 'proto'}", f"--python_out={work}", f"--connect-python_out={work}",
            f"--plugin=protoc-gen-connect-python={plugin}", "tarjama/v1/tarjama.proto"]  # fmt: skip
    return str(work) if protoc.main(args) == 0 else None


def serve(stack: str, port: int, generated: str) -> None:
    import uvicorn

    app = starlette_app() if stack == "starlette" else connect_app(generated)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", http="h11")


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


def measure(port: int, calls: int, server: subprocess.Popen[bytes]) -> dict[str, Any]:
    body = json.dumps({"texts": [SEED.read_text(encoding="utf-8")]}, ensure_ascii=False).encode()
    deadline = time.monotonic() + 60
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            connection.connect()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise
            time.sleep(0.1)
    times, data, status = [], b"", 0
    for _ in range(calls):
        started = time.perf_counter()
        connection.request("POST", PATH, body, {"content-type": "application/json"})
        reply = connection.getresponse()
        data, status = reply.read(), reply.status
        times.append(time.perf_counter() - started)
    connection.close()
    assert status == 200, (status, data[:300])
    segment = json.loads(data)["translations"][0]["segments"][0]
    times.sort()
    return {
        "median_ms": statistics.median(times) * 1000,
        "p95_ms": times[int(len(times) * 0.95)] * 1000,
        "calls_per_s": len(times) / sum(times),
        "zero_values": "sourceStart" in segment,
        "utf8": b"\\u" not in data,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--serve", choices=["starlette", "connectrpc"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--generated", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.generated)
        return 0
    with tempfile.TemporaryDirectory() as work:
        generated = generate_connect(Path(work))
        stacks = ["starlette"] + (["connectrpc"] if generated else [])
        if not generated:
            print("connectrpc or protoc-gen-connect-python not installed: Starlette only", file=sys.stderr)
        print("| stack | round | median ms | p95 ms | calls/s | zero values printed | UTF-8 kept |")
        print("|---|---|---|---|---|---|---|")
        for round_ in range(1, args.rounds + 1):
            for stack in stacks if round_ % 2 else reversed(stacks):
                port = free_port()
                command = [sys.executable, __file__, "--serve", stack, "--port", str(port), "--generated", work]
                server = subprocess.Popen(command)
                try:
                    result = measure(port, args.calls, server)
                finally:
                    server.terminate()
                    server.wait(30)
                print(f"| {stack} | {round_} | {result['median_ms']:.2f} | {result['p95_ms']:.2f} | "
                      f"{result['calls_per_s']:.0f} | {result['zero_values']} | {result['utf8']} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
