"""Generate the Python gRPC stubs from proto/ into client/tarjama_client/v1/.

    python scripts/generate_protos.py           # regenerate (needs grpcio-tools)
    python scripts/generate_protos.py --check   # exit 1 if the committed stubs are stale

protoc writes absolute imports (`from tarjama.v1 import ...`) that mirror the
proto path; the stubs live inside the `tarjama_client` package, so the one
such import is rewritten to a relative one. The proto path (and so the file
name that reflection serves) stays `tarjama/v1/tarjama.proto`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROTO_ROOT = ROOT / "proto"
PROTO_FILES = ["tarjama/v1/tarjama.proto"]
OUTPUT_DIR = ROOT / "client" / "tarjama_client" / "v1"
GENERATED = ["tarjama_pb2.py", "tarjama_pb2.pyi", "tarjama_pb2_grpc.py"]


def generate(out_dir: Path) -> dict[str, str]:
    """Run protoc and return {file name: text} of the fixed-up stubs."""
    from grpc_tools import protoc

    with tempfile.TemporaryDirectory() as work:
        args = [
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"--python_out={work}",
            f"--pyi_out={work}",
            f"--grpc_python_out={work}",
            *(str(PROTO_ROOT / name) for name in PROTO_FILES),
        ]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        package_dir = Path(work) / "tarjama" / "v1"
        return {
            name: (package_dir / name).read_text().replace("from tarjama.v1 import", "from . import")
            for name in GENERATED
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    fresh = generate(OUTPUT_DIR)
    if args.check:
        stale = [
            n for n, text in fresh.items() if not (OUTPUT_DIR / n).is_file() or (OUTPUT_DIR / n).read_text() != text
        ]
        if stale:
            print(f"stale generated stubs: {', '.join(stale)}; run: python scripts/generate_protos.py", file=sys.stderr)
            return 1
        print("generated stubs are up to date")
        return 0
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in fresh.items():
        (OUTPUT_DIR / name).write_text(text)
    init = OUTPUT_DIR / "__init__.py"
    if not init.exists():
        init.write_text('"""Generated tarjama.v1 protobuf and gRPC stubs (see scripts/generate_protos.py)."""\n')
    print(f"wrote {', '.join(fresh)} to {OUTPUT_DIR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
