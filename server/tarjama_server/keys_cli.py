"""``tarjama-keys``: make, list, revoke and rotate API keys, and read the audit log, in the
database the server uses (found as the server finds it: --data-dir, --database-url, or
TARJAMA_DATA_DIR and TARJAMA_DATABASE_URL). Running servers see a change within their
--key-refresh-seconds (3 s by default).

A new or rotated key is printed once, on stdout, and never stored: keep it then."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Mapping, Sequence

from .core.access import DEFAULT_AUDIT_PAGE, MAX_AUDIT_PAGE, SCOPES, KeyLimits, KeyRecord, check_scopes, new_key
from .core.desk import check_name
from .errors import TarjamaError
from .settings import ENV_PREFIX, Settings
from .store import database_url, open_store
from .store.access import SqlAccessStore


def _parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tarjama-keys", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir", default=env.get(f"{ENV_PREFIX}DATA_DIR", ""), help="as the server's (env TARJAMA_DATA_DIR)"
    )
    parser.add_argument(
        "--database-url",
        default=env.get(f"{ENV_PREFIX}DATABASE_URL", ""),
        help="as the server's (env TARJAMA_DATABASE_URL)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="make a key; it is printed once")
    create.add_argument("--name", required=True, help="who holds it (the audit and metrics show this name)")
    create.add_argument("--scopes", required=True, help=f"comma-separated: {', '.join(SCOPES)}")
    create.add_argument("--characters-per-day", type=int, default=0, help="model characters a UTC day (0: no limit)")
    create.add_argument("--characters-per-month", type=int, default=0, help="model characters a UTC month (0: none)")
    create.add_argument("--requests-per-minute", type=int, default=0, help="calls a minute (0: no limit)")
    commands.add_parser("list", help="every key: name, public part, scopes, limits, state")
    revoke = commands.add_parser("revoke", help="the key stops working on every server within seconds")
    revoke.add_argument("name")
    rotate = commands.add_parser("rotate", help="a new secret for the key (printed once); the old one stops working")
    rotate.add_argument("name")
    audit = commands.add_parser("audit", help="who changed what on the desk and in the keys, newest first")
    audit.add_argument(
        "--limit", type=int, default=DEFAULT_AUDIT_PAGE, help=f"entries a page (at most {MAX_AUDIT_PAGE})"
    )
    audit.add_argument("--before", type=int, default=0, help="entries older than this id (the next page)")
    audit.add_argument("--json", action="store_true", help="one JSON object a line")
    return parser


def _actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    return f"tarjama-keys:{user}"


def _show(record: KeyRecord) -> str:
    limits = record.limits
    state = f"revoked {record.revoked:%Y-%m-%dT%H:%M:%SZ}" if record.revoked else "live"
    return (
        f"{record.name}\t{record.shown}\t{','.join(sorted(record.scopes))}\t"
        f"chars/day={limits.characters_per_day or '-'} chars/month={limits.characters_per_month or '-'} "
        f"req/min={limits.requests_per_minute or '-'}\t{state}"
    )


async def _run(arguments: argparse.Namespace) -> int:
    settings = Settings(data_dir=arguments.data_dir, database_url=arguments.database_url)
    url = database_url(settings.database_url, settings.data_path)
    if url is None:
        print("tarjama-keys: keys live in the server's database, and --database-url is none", file=sys.stderr)
        return 2
    sql = await open_store(url)
    store = SqlAccessStore(sql)
    try:
        command = arguments.command
        if command == "create":
            for name in ("characters_per_day", "characters_per_month", "requests_per_minute"):
                if getattr(arguments, name) < 0:
                    raise TarjamaError(f"--{name.replace('_', '-')} must be 0 (no limit) or more")
            made = new_key()
            record = await store.create_key(
                name=check_name(arguments.name, "the key's name"),
                new=made,
                scopes=check_scopes(arguments.scopes.split(",")),
                limits=KeyLimits(
                    characters_per_day=arguments.characters_per_day,
                    characters_per_month=arguments.characters_per_month,
                    requests_per_minute=arguments.requests_per_minute,
                ),
                actor=_actor(),
            )
            print(made.key)
            print(f"key {record.name!r} made; it is shown only now: keep it", file=sys.stderr)
        elif command == "list":
            for record in sorted(await store.load_keys(), key=lambda record: record.name):
                print(_show(record))
        elif command == "revoke":
            record = await store.revoke_key(arguments.name, actor=_actor())
            print(f"key {record.name!r} revoked: servers refuse it within their --key-refresh-seconds")
        elif command == "rotate":
            made = new_key()
            record = await store.rotate_key(arguments.name, made, actor=_actor())
            print(made.key)
            print(
                f"key {record.name!r} rotated: the new key is shown only now; the old one stops working",
                file=sys.stderr,
            )
        elif command == "audit":
            if not 0 < arguments.limit <= MAX_AUDIT_PAGE:
                raise TarjamaError(f"--limit must be 1 to {MAX_AUDIT_PAGE}")
            for entry in await store.list_audit(arguments.limit, arguments.before or None):
                if arguments.json:
                    print(
                        json.dumps(
                            {
                                "id": entry.id,
                                "time": f"{entry.at:%Y-%m-%dT%H:%M:%S.%fZ}",
                                "actor": entry.actor,
                                "action": entry.action,
                                "subject": entry.subject,
                                "detail": entry.detail,
                            },
                            ensure_ascii=False,
                        )
                    )
                else:
                    print(
                        f"{entry.id}\t{entry.at:%Y-%m-%dT%H:%M:%SZ}\t{entry.actor or '-'}\t{entry.action}\t"
                        f"{entry.subject}\t{entry.detail}"
                    )
        return 0
    finally:
        await sql.close()


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser(os.environ).parse_args(argv)
    try:
        return asyncio.run(_run(arguments))
    except TarjamaError as error:
        print(f"tarjama-keys: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
