"""``tarjama``: the command line client.

tarjama translate article.txt            # translation on stdout
tarjama translate --stream - < article.txt
tarjama summarize --language en article.txt
tarjama models
tarjama health --wait 120
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from .client import TarjamaClient
from .errors import TarjamaError
from .types import DecodingOptions

UNTRAINED_WARNING = (
    "WARNING: the server runs UNTRAINED test models (random weights); this output is noise, "
    "not a translation or summary."
)


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _print_json(value: Any) -> None:
    is_instance = dataclasses.is_dataclass(value) and not isinstance(value, type)
    data = dataclasses.asdict(value) if is_instance else [dataclasses.asdict(v) for v in value]
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _warn_if_untrained(model: str) -> None:
    if "UNTRAINED" in model:
        print(UNTRAINED_WARNING, file=sys.stderr)


def _translate(client: TarjamaClient, args: argparse.Namespace) -> None:
    texts = [_read(path) for path in args.files]
    options = DecodingOptions(num_beams=args.beams, max_new_tokens=args.max_new_tokens)
    common = {"source_language": args.source_language, "target_language": args.target_language, "options": options}
    if args.stream:
        events = []
        for event in client.stream_translate(texts, **common):
            events.append(event)
            if args.json:
                continue
            if event.segment_index == 0 and event.text_index > 0:
                sys.stdout.write("\n\n")
            sys.stdout.write(event.segment.separator + event.segment.translation)
            sys.stdout.flush()
            print(f"[{event.text_index}] {event.segment_index + 1}/{event.total_segments}", file=sys.stderr)
        if args.json:
            _print_json(events)
        else:
            sys.stdout.write("\n")
        if events:
            _warn_if_untrained(events[0].model)
        return
    result = client.translate(texts, **common)
    if args.json:
        _print_json(result)
    else:
        print("\n\n".join(t.text for t in result.translations))
    _warn_if_untrained(result.model)


def _summarize(client: TarjamaClient, args: argparse.Namespace) -> None:
    result = client.summarize(
        _read(args.file),
        source_language=args.source_language,
        summary_language=args.language,
        max_summary_tokens=args.max_tokens,
        num_beams=args.beams,
    )
    if args.json:
        _print_json(result)
    else:
        print(result.summary)
    _warn_if_untrained(result.model)


def _models(client: TarjamaClient, args: argparse.Namespace) -> None:
    models = client.list_models()
    if args.json:
        _print_json(models)
        return
    for model in models:
        pair = f"{','.join(model.source_languages)} -> {','.join(model.target_languages)}"
        print(
            f"{model.task:14} {model.id}@{model.revision}  [{pair}]  "
            f"licence {model.license}  {model.engine} on {model.device}"
        )
        if model.notice:
            print(f"{'':14} NOTE: {model.notice}")


def _health(client: TarjamaClient, args: argparse.Namespace) -> None:
    if args.wait:
        client.wait_until_ready(timeout=args.wait)
    status = client.health()
    print(status)
    if status != "SERVING":
        raise SystemExit(1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tarjama", description="Client for the Tarjama translation service.")
    parser.add_argument(
        "--server",
        default=os.environ.get("TARJAMA_SERVER", "localhost:50051"),
        help="host:port of the server [env TARJAMA_SERVER] (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds before a call is abandoned (default: %(default)s)"
    )
    parser.add_argument(
        "--token", default=os.environ.get("TARJAMA_AUTH_TOKEN", ""), help="bearer token [env TARJAMA_AUTH_TOKEN]"
    )
    parser.add_argument("--tls", action="store_true", help="connect with TLS (system roots unless --ca-file)")
    parser.add_argument("--ca-file", help="PEM file of the CA that signed the server certificate (implies --tls)")
    commands = parser.add_subparsers(dest="command", required=True)

    translate = commands.add_parser("translate", help="translate files (or - for stdin)")
    translate.add_argument("files", nargs="+", metavar="FILE", help="text file(s); '-' reads stdin")
    translate.add_argument("--source-language", default="", help="e.g. ar; default: detect")
    translate.add_argument("--target-language", default="", help="default: en")
    translate.add_argument("--beams", type=int, default=0, help="beam width (0: server default)")
    translate.add_argument("--max-new-tokens", type=int, default=0, help="per-segment cap (0: server default)")
    translate.add_argument("--stream", action="store_true", help="print segments as they arrive, progress on stderr")
    translate.add_argument(
        "--json", action="store_true", help="print the full result (segments, offsets, usage) as JSON"
    )
    translate.set_defaults(handler=_translate)

    summarize = commands.add_parser("summarize", help="summarize a file (or - for stdin)")
    summarize.add_argument("file", metavar="FILE")
    summarize.add_argument(
        "--language", default="", help="summary language: en (default) or the article's own, e.g. ar"
    )
    summarize.add_argument("--source-language", default="", help="default: detect")
    summarize.add_argument("--max-tokens", type=int, default=0, help="summary length cap in tokens (0: model default)")
    summarize.add_argument("--beams", type=int, default=0, help="beam width (0: server default)")
    summarize.add_argument("--json", action="store_true")
    summarize.set_defaults(handler=_summarize)

    models = commands.add_parser("models", help="list the server's models")
    models.add_argument("--json", action="store_true")
    models.set_defaults(handler=_models)

    health = commands.add_parser("health", help="print the server's health; exit 1 unless SERVING")
    health.add_argument("--wait", type=float, default=0.0, help="wait up to this many seconds for SERVING")
    health.set_defaults(handler=_health)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with TarjamaClient(
            args.server, timeout=args.timeout, token=args.token, tls=args.tls, ca_file=args.ca_file
        ) as client:
            args.handler(client, args)
    except TarjamaError as error:
        print(f"tarjama: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"tarjama: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
