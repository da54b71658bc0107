"""``tarjama glossary create|list|show|delete`` and ``tarjama memory import|export|search``:
the desk from the command line (``cli`` adds them to its parser)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import desk
from .archive import STDIN
from .client import TarjamaClient

AddOptions = Callable[[argparse.ArgumentParser], None]


def _json(value: Any) -> None:
    data = [dataclasses.asdict(v) for v in value] if isinstance(value, list) else dataclasses.asdict(value)
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _entries(pairs: list[str]) -> dict[str, str]:
    entries = {}
    for pair in pairs:
        term, separator, rendering = pair.partition("=")
        if not separator:
            raise ValueError(f"--entry {pair!r}: write TERM=RENDERING")
        entries[term.strip()] = rendering.strip()
    return entries


def _read_bytes(path: str) -> bytes:
    """A file's bytes, or standard input's for ``-``."""
    return sys.stdin.buffer.read() if path == STDIN else Path(path).read_bytes()


def _glossary_create(client: TarjamaClient, args: argparse.Namespace) -> None:
    file, media_type = b"", ""
    if args.file:
        file = _read_bytes(args.file)
        media_type = args.media_type or desk.MEDIA_TYPES.get(Path(args.file).suffix.lower(), "")
        if not media_type:
            raise ValueError(f"{args.file}: say its format with --media-type (text/tab-separated-values, text/csv, "
                             "application/x-tbx)")  # fmt: skip
    created = client.create_glossary(
        args.name,
        entries=_entries(args.entry) if args.entry else None,
        file=file,
        file_media_type=media_type,
        source_language=args.source_language,
        target_language=args.target_language,
    )
    if args.json:
        _json(created)
    else:
        print(f"{created.id}\t{created.name}\t{created.entry_count} entries")


def _glossary_list(client: TarjamaClient, args: argparse.Namespace) -> None:
    glossaries = client.list_glossaries()
    if args.json:
        _json(glossaries)
        return
    for glossary in glossaries:
        languages = f"{glossary.source_language}→{glossary.target_language}"
        print(f"{glossary.id}\t{glossary.name}\t{languages}\t{glossary.entry_count} entries\t{glossary.update_time}")


def _glossary_show(client: TarjamaClient, args: argparse.Namespace) -> None:
    glossary = client.get_glossary(args.id)
    if args.json:
        _json(glossary)
        return
    for term, rendering in glossary.entries.items():  # TSV: what `glossary create NAME FILE.tsv` reads
        print(f"{term}\t{rendering}")


def _glossary_delete(client: TarjamaClient, args: argparse.Namespace) -> None:
    client.delete_glossary(args.id)


def _memory_import(client: TarjamaClient, args: argparse.Namespace) -> None:
    units, saved = client.import_memory(
        _read_bytes(args.file),
        memory=args.memory,
        source_language=args.source_language,
        target_language=args.target_language,
    )
    print(f"{units} units read, {saved} entries saved into memory {args.memory or 'default'!r}")


def _memory_export(client: TarjamaClient, args: argparse.Namespace) -> None:
    out = open(args.output, "wb") if args.output else sys.stdout.buffer
    try:
        for piece in client.export_memory(memory=args.memory):
            out.write(piece)
    finally:
        if args.output:
            out.close()
        else:
            out.flush()


def _memory_search(client: TarjamaClient, args: argparse.Namespace) -> None:
    matches = client.search_memory(args.text, memory=args.memory, min_similarity=args.min_similarity, limit=args.limit)
    if args.json:
        _json(matches)
        return
    for match in matches:
        print(f"{match.similarity:.2f}\t{match.source}\t{match.translation}\t(id {match.entry_id})")


def add_commands(commands: Any, connection_options: AddOptions) -> None:
    """The ``glossary`` and ``memory`` commands, with their subcommands, on ``commands``."""
    glossary = commands.add_parser("glossary", help="stored glossaries: create, list, show, delete")
    actions = glossary.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="store a glossary from a TSV/CSV/TBX file or --entry pairs")
    create.add_argument("name")
    create.add_argument("file", nargs="?", help="TSV (term<TAB>rendering), CSV or TBX; '-' reads stdin")
    create.add_argument("--entry", action="append", default=[], metavar="TERM=RENDERING")
    create.add_argument("--media-type", default="", help="the file's format, when its extension does not say")
    create.add_argument("--source-language", default="", help="default: ar")
    create.add_argument("--target-language", default="", help="default: en")
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=_glossary_create)
    listing = actions.add_parser("list", help="every glossary: id, name, languages, entries, last update")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_glossary_list)
    show = actions.add_parser("show", help="a glossary's entries as TSV (or --json)")
    show.add_argument("id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_glossary_show)
    delete = actions.add_parser("delete", help="delete a glossary")
    delete.add_argument("id")
    delete.set_defaults(handler=_glossary_delete)

    memory = commands.add_parser("memory", help="translation memories: import and export TMX, search")
    memory_actions = memory.add_subparsers(dest="action", required=True)
    importing = memory_actions.add_parser("import", help="add a TMX 1.4 file's units (all or nothing)")
    importing.add_argument("file", help="a .tmx file; '-' reads stdin")
    exporting = memory_actions.add_parser("export", help="write a memory as TMX 1.4 (stdout, or --output)")
    exporting.add_argument("--output", "-o", default="", metavar="FILE")
    exporting.set_defaults(handler=_memory_export)
    searching = memory_actions.add_parser("search", help="the approved translations nearest a text")
    searching.add_argument("text")
    searching.add_argument("--min-similarity", type=float, default=None, help="0-1 (default: the server's, 0.75)")
    searching.add_argument("--limit", type=int, default=0, help="most matches (default 10)")
    searching.add_argument("--json", action="store_true")
    searching.set_defaults(handler=_memory_search)
    for command in (importing, exporting, searching):
        command.add_argument("--memory", default="", help="the memory's name (default: default)")
    importing.add_argument("--source-language", default="", help="default: ar")
    importing.add_argument("--target-language", default="", help="default: en")
    importing.set_defaults(handler=_memory_import)
    for parser in (glossary, memory, *actions.choices.values(), *memory_actions.choices.values()):
        connection_options(parser)
