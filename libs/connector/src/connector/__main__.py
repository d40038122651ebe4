"""Entry point of the `connector` command."""

from __future__ import annotations

import argparse
import asyncio
import sys

from common.db.migrate import migrate
from common.errors import MigrationError
from common.logging import configure_logging
from common.settings import load_settings

from connector.settings import MigrateSettings


def _migrate(_: argparse.Namespace) -> int:
    settings = load_settings(MigrateSettings)
    configure_logging(settings.log_level, settings.log_format)
    try:
        applied = asyncio.run(migrate(settings.database_url.get_secret_value()))
    except MigrationError as error:
        print(f"migration failed: {error}", file=sys.stderr)
        return 1
    print(f"migrations applied: {len(applied)}" + (f" ({', '.join(map(str, applied))})" if applied else ""))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="connector", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    migrate_cmd = commands.add_parser(
        "migrate", help="create the database if missing and apply pending migrations"
    )
    migrate_cmd.set_defaults(func=_migrate)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    raise SystemExit(args.func(args))


if __name__ == "__main__":
    main()
