"""``tarjama``: the command line client.

tarjama translate article.txt            # translation on stdout
tarjama translate --stream < article.txt # stdin when no FILE is named and stdin is not a terminal
tarjama translate --stream --json a.txt  # one JSON object per segment, as it arrives
tarjama translate --confidence a.txt   # mark the segments the model is least sure of (--threshold)
tarjama summarize --language en article.txt
tarjama batch archive.jsonl --output translated.jsonl   # resumable: run it again to finish
tarjama batch --shard 0/3 archive.jsonl -o part-0.jsonl # one of three shards (e.g. an Indexed Job's pods)
tarjama models
tarjama health --wait 120

Errors are one line on stderr and exit 1 (2 for a bad command line, 130 on Ctrl-C);
no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from ._convert import STYLE_NAMES
from ._many import DEFAULT_CONCURRENCY
from ._retry import RetryPolicy
from .archive import STDIN, Shard
from .batch import EXIT_FAILED_ITEMS, EXIT_UNFINISHED, BatchOptions
from .batch import run as run_batch
from .client import TarjamaClient
from .desk import TranslateDesk
from .desk_cli import add_commands as add_desk_commands
from .errors import DeadlineExceededError, ServerUnavailableError, TarjamaError
from .textfiles import UnreadableTextError, decode_text
from .types import UNTRAINED_WARNING, DecodingOptions, Segment, TranslateEvent

# Set by Kubernetes in each pod of an Indexed Job (0, 1, …), and the count the Job's author sets beside it.
SHARD_INDEX_ENV = "JOB_COMPLETION_INDEX"
SHARD_COUNT_ENV = "TARJAMA_SHARDS"


def _read(path: str, encoding: str = "") -> str:
    """A text file (or stdin for ``-``) in any encoding newsroom files come in."""
    if path == STDIN:
        return decode_text(sys.stdin.buffer.read(), "standard input", encoding)
    with open(path, "rb") as handle:
        return decode_text(handle.read(), path, encoding)


def _files_or_stdin(files: list[str]) -> list[str]:
    """The FILEs named, or standard input when none is and it is not a terminal (``tarjama translate < a.txt``)."""
    if files:
        return files
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("name a FILE, or pipe the text in (tarjama translate < article.txt); '-' reads stdin")
    return [STDIN]


class UsageError(ValueError):
    """A command line that cannot work as given: exit 2 with one line that says why."""


def _print_json(value: Any) -> None:
    is_instance = dataclasses.is_dataclass(value) and not isinstance(value, type)
    data = dataclasses.asdict(value) if is_instance else [dataclasses.asdict(v) for v in value]
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _warn_if_untrained(model: str) -> None:
    if "UNTRAINED" in model:
        print(UNTRAINED_WARNING, file=sys.stderr)


class _Progress:
    """A progress bar per text on a terminal (stderr); nothing when stderr is piped."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled
        self._bar: Any = None

    def update(self, event: TranslateEvent) -> None:
        if not self._enabled:
            return
        if event.segment_index == 0:
            self.close()
            from tqdm import tqdm

            self._bar = tqdm(
                total=event.total_segments, desc=f"text {event.text_index + 1}", unit="segment", file=sys.stderr
            )
        self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


# A segment below the --confidence threshold: in reverse video on a terminal, else between markers.
_LOW_ON_TERMINAL = ("\x1b[7m", "\x1b[0m")
_LOW_IN_TEXT = ("[[", "]]")


class _Marker:
    """Marks the segments whose confidence is below ``threshold`` (None: marks nothing). In an
    HTML document the markers would break the markup, which the segments do not carry: the
    document is printed as the server rebuilt it and the segments are listed on stderr instead."""

    def __init__(self, threshold: float | None, terminal: bool, html: bool = False) -> None:
        self.threshold = threshold
        self.open, self.close = _LOW_ON_TERMINAL if terminal else _LOW_IN_TEXT
        self.html = html
        self.marked = self.scored = 0
        self.low: list[tuple[int, int, Segment]] = []  # (text, segment, the segment) of those below

    def is_low(self, text_index: int, segment_index: int, segment: Segment) -> bool:
        if self.threshold is None or segment.confidence is None:
            return False
        self.scored += 1
        if segment.confidence >= self.threshold:
            return False
        self.marked += 1
        self.low.append((text_index, segment_index, segment))
        return True

    def text(self, segment: Segment, text_index: int = 0, segment_index: int = 0) -> str:
        """The segment as it goes into the document: separator, translation (marked when low), trailing."""
        translation = segment.translation
        if self.is_low(text_index, segment_index, segment):
            translation = f"{self.open}{translation}{self.close}"
        return segment.separator + translation + segment.trailing

    def report(self) -> None:
        if self.threshold is None:
            return
        if self.html:
            for text_index, segment_index, segment in self.low:
                print(
                    f"  text {text_index + 1}, segment {segment_index + 1} ({segment.confidence:.2f}): "
                    f"{segment.translation}",
                    file=sys.stderr,
                )
            how = "listed above (the HTML is printed whole, its markup kept)"
        elif self.open == _LOW_ON_TERMINAL[0]:
            how = "marked in reverse video"
        else:
            how = f"marked between {self.open} and {self.close}"
        print(
            f"{self.marked} of {self.scored} translated segments below confidence {self.threshold:g}, {how}",
            file=sys.stderr,
        )


def _print_alternatives(segments: Sequence[tuple[int, int, Segment]]) -> None:
    """After the document: each segment's other translations (--alternatives), best first, with scores."""
    with_alternatives = [(t, i, segment) for t, i, segment in segments if segment.alternatives]
    if not with_alternatives:
        return
    print("\nAlternatives:")
    for text_index, segment_index, segment in with_alternatives:
        print(f"  text {text_index + 1}, segment {segment_index + 1}: {segment.source}")
        for alternative in segment.alternatives:
            print(f"    {alternative.confidence:.2f}  {alternative.translation}")


def _stream(client: TarjamaClient, texts: list[str], args: argparse.Namespace, common: dict[str, Any]) -> None:
    progress = _Progress(enabled=sys.stderr.isatty())
    marker = _Marker(_threshold(args), sys.stdout.isatty())
    model = ""
    streamed: list[tuple[int, int, Segment]] = []
    try:
        for event in client.stream_translate(texts, **common):
            model = event.model
            progress.update(event)
            if args.json:  # JSON Lines: one object per segment, written as it arrives
                sys.stdout.write(json.dumps(dataclasses.asdict(event), ensure_ascii=False) + "\n")
            else:
                if event.segment_index == 0 and event.text_index > 0:
                    sys.stdout.write("\n\n")
                sys.stdout.write(marker.text(event.segment, event.text_index, event.segment_index))
                streamed.append((event.text_index, event.segment_index, event.segment))
            sys.stdout.flush()
    finally:
        progress.close()
    if not args.json:
        sys.stdout.write("\n")
        _print_alternatives(streamed)
        marker.report()
    _warn_if_untrained(model)


def _read_glossary(path: str, encoding: str) -> dict[str, str]:
    """A glossary file: a JSON object, or one ``term<TAB>rendering`` a line (# starts a comment)."""
    text = _read(path, encoding)
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise UnreadableTextError(f"{path}: not valid JSON ({error})") from None
        if not all(isinstance(key, str) and isinstance(value, str) for key, value in data.items()):
            raise UnreadableTextError(f"{path}: the JSON object must map strings to strings")
        return data
    glossary = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        term, tab, rendering = line.partition("\t")
        if not tab:
            raise UnreadableTextError(f"{path}:{number}: write 'term<TAB>rendering'")
        glossary[term.strip()] = rendering.strip()
    return glossary


def _threshold(args: argparse.Namespace) -> float | None:
    """The --confidence threshold, or None when no segment is to be marked."""
    if args.threshold is not None:
        return float(args.threshold)
    return DEFAULT_CONFIDENCE_THRESHOLD if args.confidence else None


def _translate(client: TarjamaClient, args: argparse.Namespace) -> None:
    files = _files_or_stdin(args.files)
    html = args.html or all(path.lower().endswith((".html", ".htm")) for path in files)
    if html and args.stream and not args.json:
        raise UsageError(
            "--stream prints the segments as they arrive, without the HTML's markup: leave out --stream to "
            "keep the markup (or add --json for the segments)"
        )
    texts = [_read(path, args.encoding) for path in files]
    options = DecodingOptions(num_beams=args.beams, max_new_tokens=args.max_new_tokens)
    common = {
        "source_language": args.source_language,
        "target_language": args.target_language,
        "options": options,
        "mime_type": "text/html" if html else "",
        "glossary": _read_glossary(args.glossary, args.encoding) if args.glossary else None,
        "alternatives": args.alternatives,
        "desk": TranslateDesk(args.glossary_id, args.memory, args.memory_min_similarity),
    }
    if args.stream:
        _stream(client, texts, args, common)
        return
    result = client.translate(texts, **common)
    if args.json:
        _print_json(result)
        _warn_if_untrained(result.model)
        return
    marker = _Marker(_threshold(args), sys.stdout.isatty(), html=html)
    if marker.threshold is not None and not html:
        documents = [
            "".join(marker.text(segment, t, i) for i, segment in enumerate(text.segments))
            for t, text in enumerate(result.translations)
        ]
    else:
        for t, text in enumerate(result.translations):
            for i, segment in enumerate(text.segments):
                marker.is_low(t, i, segment)
        documents = [text.text for text in result.translations]
    print("\n\n".join(documents))
    _print_alternatives(
        [(t, i, segment) for t, text in enumerate(result.translations) for i, segment in enumerate(text.segments)]
    )
    marker.report()  # after the alternatives, as in --stream: the count closes the output
    _warn_if_untrained(result.model)


def _batch(client: TarjamaClient, args: argparse.Namespace) -> int:
    options = BatchOptions(
        input=args.input,
        output=args.output,
        id_field=args.id_field,
        text_field=args.text_field,
        concurrency=args.concurrency,
        source_language=args.source_language,
        target_language=args.target_language,
        beams=args.beams,
        glossary=_read_glossary(args.glossary, "") if args.glossary else None,
        encoding=args.encoding,
        summarize=args.summarize,
        summary_language=args.summary_language,
        style=args.style,
        retries=args.retries,
        shard=_shard(args.shard, args.shards, os.environ),
        retry_failed=args.retry_failed,
    )
    return run_batch(client.config, options)


def _shard(shard: str | None, shards: int | None, environ: Mapping[str, str]) -> Shard:
    """--shard I/N; else the index Kubernetes gives each pod of an Indexed Job
    (JOB_COMPLETION_INDEX) with the count of --shards or TARJAMA_SHARDS; else the whole input."""
    if shard:
        return Shard.parse(shard)
    count = shards if shards is not None else environ.get(SHARD_COUNT_ENV, "").strip()
    index = environ.get(SHARD_INDEX_ENV, "").strip()
    if not index and not count:
        return Shard()
    if not index:
        raise UsageError(f"--shards / {SHARD_COUNT_ENV} needs the shard's index: --shard I/N, or {SHARD_INDEX_ENV}")
    if not count:
        raise UsageError(
            f"{SHARD_INDEX_ENV}={index} (a Kubernetes Indexed Job) but no shard count: pass --shards N or set "
            f"{SHARD_COUNT_ENV} to the Job's completions, or every pod would translate every item"
        )
    return Shard.parse(f"{index}/{count}")


def _summarize(client: TarjamaClient, args: argparse.Namespace) -> None:
    (path,) = _files_or_stdin([args.file] if args.file else [])
    result = client.summarize(
        _read(path, args.encoding),
        source_language=args.source_language,
        summary_language=args.language,
        max_summary_tokens=args.max_tokens,
        num_beams=args.beams,
        style=args.style,
        mime_type="text/html" if args.html or args.file.lower().endswith((".html", ".htm")) else "",
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


def _evaluate(client: TarjamaClient, args: argparse.Namespace) -> None:
    from .evaluation import evaluate

    try:
        report = evaluate(
            client, _read(args.source, args.encoding), _read(args.reference, args.encoding), args.source_language
        )
    except RuntimeError as error:  # sacreBLEU missing
        raise ValueError(str(error)) from None
    if args.json:
        _print_json(report)
    else:
        print(f"layout: {report.layout}")
        print(f"corpus BLEU {report.bleu:.1f}  chrF {report.chrf:.1f}  ({report.model})")
        for index, sentence in enumerate(report.sentences, 1):
            print(f"{index:4}  BLEU {sentence.bleu:5.1f}  chrF {sentence.chrf:5.1f}  {sentence.hypothesis[:70]}")
    _warn_if_untrained(report.model)


def eval_main(argv: Sequence[str] | None = None) -> int:
    """``tarjama-eval SOURCE REFERENCE [--server ...]``: the same as ``tarjama eval``."""
    return main(["eval", *(sys.argv[1:] if argv is None else argv)])


def _health(client: TarjamaClient, args: argparse.Namespace) -> None:
    if args.wait:
        client.wait_until_ready(timeout=args.wait)
    status = client.health()
    print(status)
    if status != "SERVING":
        raise SystemExit(1)


# A starting point only: scores depend on the model and engine (see Segment.confidence in the proto).
DEFAULT_CONFIDENCE_THRESHOLD = 0.5
ENCODING_HELP = "input encoding, e.g. cp1256 (default: detected: UTF-8/16, Windows-1256, ISO-8859-6...)"


def _connection_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """Where and how to connect. Accepted before the command and after it (``tarjama-eval --server X``);
    after it they carry no defaults, so they only override what was given before."""

    def default(value: Any) -> Any:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument(
        "--server",
        default=default(os.environ.get("TARJAMA_SERVER", "localhost:50051")),
        help="host:port of the server; host alone means port 50051 [env TARJAMA_SERVER] (default: localhost:50051)",
    )
    parser.add_argument(
        "--timeout", type=float, default=default(300.0), help="seconds before a call is abandoned (default: 300)"
    )
    parser.add_argument(
        "--token",
        default=default(os.environ.get("TARJAMA_AUTH_TOKEN", "")),
        help="bearer token [env TARJAMA_AUTH_TOKEN]",
    )
    parser.add_argument(
        "--tls", action="store_true", default=default(False), help="connect with TLS (system roots unless --ca-file)"
    )
    parser.add_argument(
        "--ca-file", default=default(None), help="PEM file of the CA that signed the server certificate (implies --tls)"
    )
    parser.add_argument(
        "--no-retries",
        dest="retries",
        action="store_false",
        default=default(True),
        help="fail at once when the server is busy or unreachable (default: retry with backoff within --timeout)",
    )

    parser.add_argument(
        "--tls-server-name",
        default=default(""),
        help="name the server certificate must carry, if not the --server host",
    )
    parser.add_argument(
        "--load-balancing",
        choices=("pick_first", "round_robin"),
        default=default(""),
        help="round_robin spreads calls over every address of the target "
        "(default for dns:///name:port, e.g. a headless Kubernetes Service); pick_first uses one",
    )


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def _confidence(value: str) -> float:
    """A --threshold: a confidence between 0 and 1 (a NaN, a negative number or one over 1
    would silently mark no segment, or every one)."""
    number = float(value)
    if not 0.0 <= number <= 1.0:  # False for NaN too
        raise argparse.ArgumentTypeError(f"must be a confidence between 0 and 1, not {value}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tarjama", description="Client for the Tarjama translation service.")
    _connection_options(parser, defaults=True)
    commands = parser.add_subparsers(dest="command", required=True)

    translate = commands.add_parser("translate", help="translate files (or stdin)")
    translate.add_argument(
        "files", nargs="*", metavar="FILE", help="text file(s); '-', or none with text piped in, reads stdin"
    )
    translate.add_argument("--source-language", default="", help="e.g. ar; default: detect")
    translate.add_argument("--target-language", default="", help="default: en")
    translate.add_argument("--beams", type=int, default=0, help="beam width (0: server default)")
    translate.add_argument("--max-new-tokens", type=int, default=0, help="per-segment cap (0: server default)")
    translate.add_argument(
        "--stream", action="store_true", help="print segments as they arrive (a progress bar on a terminal)"
    )
    translate.add_argument(
        "--json",
        action="store_true",
        help="print the full result (segments with offsets, scores, flags; usage, request id, timings) as JSON; "
        "with --stream, one JSON object per line",
    )
    translate.add_argument(
        "--confidence",
        action="store_true",
        help="mark the segments whose confidence (0-1, the model's own score) is below --threshold: in reverse "
        "video on a terminal, else between [[ and ]]; a count on stderr",
    )
    translate.add_argument(
        "--threshold",
        type=_confidence,
        default=None,
        metavar="T",
        help=f"the --confidence threshold (default {DEFAULT_CONFIDENCE_THRESHOLD:g}; implies --confidence). Scores "
        "depend on the model and engine: choose it on a sample of your own copy",
    )
    translate.add_argument(
        "--alternatives",
        type=int,
        default=0,
        metavar="N",
        help="also return N other translations of each segment, with their scores, listed after the "
        "translation (short texts such as headlines; --json carries them too)",
    )
    translate.add_argument("--encoding", default="", help=ENCODING_HELP)
    translate.add_argument(
        "--html", action="store_true", help="the input is HTML: keep its markup (the default for .html/.htm files)"
    )
    translate.add_argument(
        "--glossary", metavar="FILE", help="required renderings: 'term<TAB>rendering' lines, or a JSON object"
    )
    translate.add_argument("--glossary-id", default="", metavar="ID", help="apply a stored glossary (glossary list)")
    translate.add_argument(
        "--memory", default="", metavar="NAME", help="use a translation memory: approved segments come from it"
    )
    translate.add_argument(
        "--memory-min-similarity", type=_confidence, default=None, metavar="S",
        help="least similarity of a near match to report (default: the server's, 0.75)",
    )  # fmt: skip
    translate.set_defaults(handler=_translate)

    batch = commands.add_parser(
        "batch",
        help="translate an archive: JSON Lines or a folder of .txt/.html files; resumable",
        description="Translate every item of INPUT into OUTPUT, one JSON line per item (its translation or its "
        "error). Run the same command again to resume: only items without a line are sent. A JSON summary "
        "ends the run, and stderr names the items that failed. Exit status: 0 every item translated; "
        f"{EXIT_UNFINISHED} items left without a line (servers busy or unreachable: run again to resume); 2 a bad "
        f"command line, input or output; {EXIT_FAILED_ITEMS} every item has a line but some are errors (fix the "
        "input, then run again with --retry-failed).",
    )
    batch.add_argument(
        "input",
        metavar="INPUT",
        help='JSON Lines ({"id": ..., "text": ...} per line; optional mime_type, source_language, glossary), '
        "'-' for JSON Lines on stdin, or a folder of .txt/.htm/.html files",
    )
    batch.add_argument(
        "--output",
        "-o",
        required=True,
        metavar="OUTPUT",
        help="JSON Lines file; for a folder INPUT, a folder: translated files at the same paths, lines in "
        "OUTPUT/tarjama-batch.jsonl",
    )
    batch.add_argument("--id-field", default="id", help="the JSON field of each item's id (default: id)")
    batch.add_argument("--text-field", default="text", help="the JSON field of each item's text (default: text)")
    batch.add_argument(
        "--concurrency",
        type=_positive_int,
        default=DEFAULT_CONCURRENCY,
        help="most calls in flight; the run starts at 2 and adapts to the servers up to this "
        f"(default: {DEFAULT_CONCURRENCY})",
    )
    batch.add_argument("--source-language", default="", help="for items without one, e.g. ar; default: detect")
    batch.add_argument("--target-language", default="", help="default: en")
    batch.add_argument("--beams", type=int, default=0, help="beam width (0: server default)")
    batch.add_argument(
        "--glossary", metavar="FILE", help="for items without one: 'term<TAB>rendering' lines, or a JSON object"
    )
    batch.add_argument("--encoding", default="", help="of the files of a folder INPUT; " + ENCODING_HELP)
    batch.add_argument("--summarize", action="store_true", help="add a summary to each item")
    batch.add_argument(
        "--summary-language", default="", help="with --summarize: en (default) or the article's own, e.g. ar"
    )
    batch.add_argument(
        "--style", choices=STYLE_NAMES, default="", help="with --summarize: the summary's style (default: the server's)"
    )
    batch.add_argument(
        "--shard",
        metavar="I/N",
        help="only the items of shard I of N (I from 0): a stable hash of each id picks its shard, so N runs, "
        "each with its own OUTPUT, translate the input once between them "
        f"(default: {SHARD_INDEX_ENV} with --shards, else all)",
    )
    batch.add_argument(
        "--shards",
        type=_positive_int,
        metavar="N",
        help=f"the shard count, the index read from {SHARD_INDEX_ENV} (a Kubernetes Indexed Job's pods) "
        f"[env {SHARD_COUNT_ENV}]",
    )
    batch.add_argument(
        "--retry-failed",
        action="store_true",
        help="send again the items whose lines in OUTPUT are errors (their lines are taken out first)",
    )
    batch.set_defaults(handler=_batch)

    summarize = commands.add_parser("summarize", help="summarize a file (or stdin)")
    summarize.add_argument(
        "file", nargs="?", metavar="FILE", help="a text file; '-', or none with text piped in, reads stdin"
    )
    summarize.add_argument(
        "--language", default="", help="summary language: en (default) or the article's own, e.g. ar"
    )
    summarize.add_argument("--source-language", default="", help="default: detect")
    summarize.add_argument("--max-tokens", type=int, default=0, help="summary length cap in tokens (0: model default)")
    summarize.add_argument("--beams", type=int, default=0, help="beam width (0: server default)")
    summarize.add_argument(
        "--style", choices=STYLE_NAMES, default="", help="the summary's style (default: the server's)"
    )
    summarize.add_argument(
        "--html", action="store_true", help="the input is HTML: summarize its text (the default for .html/.htm files)"
    )
    summarize.add_argument("--json", action="store_true")
    summarize.add_argument("--encoding", default="", help=ENCODING_HELP)
    summarize.set_defaults(handler=_summarize)

    models = commands.add_parser("models", help="list the server's models")
    models.add_argument("--json", action="store_true")
    models.set_defaults(handler=_models)

    health = commands.add_parser("health", help="print the server's health; exit 1 unless SERVING")
    health.add_argument("--wait", type=float, default=0.0, help="wait up to this many seconds for SERVING")
    health.set_defaults(handler=_health)

    evaluate = commands.add_parser(
        "eval", help="score the server's translations against references (BLEU, chrF), as `tarjama-eval`"
    )
    evaluate.add_argument("source", metavar="SOURCE", help="source text file")
    evaluate.add_argument("reference", metavar="REFERENCE", help="reference translation, one sentence per line")
    evaluate.add_argument("--source-language", default="", help="e.g. ar; default: detect")
    evaluate.add_argument("--encoding", default="", help=ENCODING_HELP)
    evaluate.add_argument("--json", action="store_true", help="the full report, per-sentence scores included")
    evaluate.set_defaults(handler=_evaluate)
    for command in commands.choices.values():
        _connection_options(command, defaults=False)
    add_desk_commands(commands, lambda command: _connection_options(command, defaults=False))
    return parser


def _explain(error: TarjamaError, args: argparse.Namespace) -> str:
    """The server's message, plus what to check where the raw gRPC text says little."""
    details = error.details.lower()
    mode = "TLS" if args.tls or args.ca_file else "plaintext"
    if isinstance(error, DeadlineExceededError):
        return f"no answer within --timeout {args.timeout:g} seconds; a long article may need a larger --timeout"
    if isinstance(error, ServerUnavailableError) and any(
        sign in details for sign in ("failed to connect", "connection refused", "dns resolution", "handshake", "socket")
    ):
        other = "--tls off" if mode == "TLS" else "--tls (if the server serves TLS)"
        return (
            f"cannot reach a Tarjama server at {args.server} ({mode}): is it running and listening there? "
            f"Check --server / TARJAMA_SERVER, and {other}. [{error.details.splitlines()[0][:160]}]"
        )
    return str(error)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with TarjamaClient(
            args.server,
            timeout=args.timeout,
            token=args.token,
            tls=args.tls,
            ca_file=args.ca_file,
            load_balancing=args.load_balancing,
            tls_server_name=args.tls_server_name,
            # A health probe answers at once; its caller (Docker, a script) decides when to ask again.
            retry=RetryPolicy() if args.retries and args.command != "health" else RetryPolicy.disabled(),
        ) as client:
            status = args.handler(client, args)
    except UnreadableTextError as error:
        print(f"tarjama: {error}", file=sys.stderr)
        return 1
    except ValueError as error:  # a bad --server, a missing extra
        print(f"tarjama: {error}", file=sys.stderr)
        return 2
    except TarjamaError as error:
        print(f"tarjama: {_explain(error, args)}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (`tarjama translate a.txt | head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:
        print(f"tarjama: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130  # as a shell reports Ctrl-C, without a traceback
    return status or 0


if __name__ == "__main__":
    sys.exit(main())
