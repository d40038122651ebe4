"""Entry point of the `connector` command: migrate, rotate-keys, sandbox, run, demo-despatcher."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from common.db.migrate import migrate
from common.lifecycle import BOOT_FAILURES, install_stop_signals
from common.logging import configure_logging
from common.settings import EncryptionSettings, ServiceSettings, load_settings

from connector.dlq_cli import add_dlq_commands
from connector.failures import report_failure
from connector.settings import MigrateSettings


def _migrate(_: argparse.Namespace) -> int:
    settings = load_settings(MigrateSettings)
    configure_logging(settings.log_level, settings.log_format)
    try:
        applied = asyncio.run(
            migrate(settings.database_url.get_secret_value(), app_role=settings.database_app_role)
        )
    except BOOT_FAILURES as error:  # the database unreachable or refusing, or a migration at fault
        return report_failure("migration", error)
    print(f"migrations applied: {len(applied)}" + (f" ({', '.join(map(str, applied))})" if applied else ""))
    return 0


DEMO_MISSING = (
    "the demo needs the bigcommerce-sandbox package: run it from the repository (uv sync), not an image"
)


def _rotate_keys(args: argparse.Namespace) -> int:
    from common.crypto import TokenCipher
    from common.db.pool import open_pool

    from connector.rotate_keys import rotate_keys

    settings = load_settings(EncryptionSettings)
    configure_logging(settings.log_level, settings.log_format)

    async def main() -> int:
        async with open_pool(settings.database_url.get_secret_value()) as pool:
            report = await rotate_keys(
                pool, TokenCipher(settings.token_encryption_keys), batch_size=args.batch_size
            )
        print(
            f"stored secrets re-encrypted: {report.rotated}, already under the first key: "
            f"{report.already_current}"
        )
        if report.unreadable:
            where = ", ".join(f"{name} {count}" for name, count in report.unreadable.items())
            print(
                f"rotation incomplete: no configured key decrypts {where}; "
                "keep the key that encrypted them in TOKEN_ENCRYPTION_KEYS",
                file=sys.stderr,
            )
        if report.gave_up:
            print(f"rotation incomplete: {report.gave_up} kept changing; run it again", file=sys.stderr)
        if report.complete:
            print("every stored secret is under the first key: the other keys can be removed")
        return 0 if report.complete else 1

    try:
        return asyncio.run(main())
    except BOOT_FAILURES as error:
        return report_failure("rotation", error)


def _sandbox(args: argparse.Namespace) -> int:
    try:
        from bigcommerce_sandbox import StateFileError, serve
    except ImportError:
        print(DEMO_MISSING, file=sys.stderr)
        return 2

    async def main() -> None:
        stop = asyncio.Event()
        install_stop_signals(stop)
        await serve(
            args.host,
            args.port,
            app_base_url=args.app_base_url,
            new_order_interval_s=args.new_order_every or None,
            stop=stop,
            state_path=args.state_file,
        )

    try:
        asyncio.run(main())
    except StateFileError as error:
        print(f"sandbox state: {error}", file=sys.stderr)
        return 1
    return 0


def _run(args: argparse.Namespace) -> int:
    try:
        from connector.run import run
    except ImportError:
        print(DEMO_MISSING, file=sys.stderr)
        return 2

    return run(args)


def _demo_despatcher(args: argparse.Namespace) -> int:
    from connector.demo_despatcher import run_demo_despatcher

    settings = load_settings(ServiceSettings)
    configure_logging(settings.log_level, settings.log_format)

    async def main() -> None:
        stop = asyncio.Event()
        install_stop_signals(stop)
        await run_demo_despatcher(
            settings.amqp_url.get_secret_value(), settings.amqp_exchange, stop, delay_s=args.delay
        )

    asyncio.run(main())
    return 0


def _asyncapi(args: argparse.Namespace) -> int:
    from common.asyncapi import render_asyncapi

    document = render_asyncapi()
    if args.output is None:
        sys.stdout.write(document)
    else:
        args.output.write_text(document, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="connector", description="Operate the BigCommerce connector.")
    commands = parser.add_subparsers(dest="command", required=True)

    migrate_cmd = commands.add_parser(
        "migrate", help="create the database if missing and apply pending migrations"
    )
    migrate_cmd.set_defaults(func=_migrate)

    rotate = commands.add_parser(
        "rotate-keys",
        help="re-encrypt every stored secret with the first TOKEN_ENCRYPTION_KEYS key (safe while running)",
    )
    rotate.add_argument("--batch-size", type=int, default=100, help="rows per compare-and-set statement")
    rotate.set_defaults(func=_rotate_keys)

    sandbox = commands.add_parser("sandbox", help="serve the BigCommerce sandbox with a demo store")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8900)
    sandbox.add_argument(
        "--app-base-url", default="http://127.0.0.1:8080", help="the gateway (PUBLIC_BASE_URL)"
    )
    sandbox.add_argument("--new-order-every", type=float, default=120.0, help="seconds; 0 = no new orders")
    sandbox.add_argument(
        "--state-file", type=Path, default=None, help="keep the stores in this JSON file across restarts"
    )
    sandbox.set_defaults(func=_sandbox)

    run_cmd = commands.add_parser(
        "run", help="migrate and run every service (with the sandbox when no app credentials)"
    )
    run_cmd.add_argument("--sandbox-port", type=int, default=8900)
    for service, default in (("gateway", 8080), ("poller", 8081), ("writer", 8082)):
        run_cmd.add_argument(
            f"--{service}-port", type=int, default=None, help=f"HTTP_PORT (default {default})"
        )
    run_cmd.add_argument(
        "--new-order-every", type=float, default=120.0, help="sandbox mode: seconds; 0 = none"
    )
    run_cmd.add_argument(
        "--despatch-delay", type=float, default=20.0, help="sandbox mode: demo despatch delay"
    )
    run_cmd.add_argument(
        "--no-demo-despatcher", action="store_true", help="do not despatch downloaded orders"
    )
    run_cmd.set_defaults(func=_run)

    despatcher = commands.add_parser("demo-despatcher", help="despatch every downloaded order (demo only)")
    despatcher.add_argument("--delay", type=float, default=20.0, help="seconds between download and despatch")
    despatcher.set_defaults(func=_demo_despatcher)

    asyncapi = commands.add_parser("asyncapi", help="print the AsyncAPI 3.0 document of the events")
    asyncapi.add_argument(
        "--output", type=Path, default=None, help="write it here (the committed copy: docs/asyncapi.json)"
    )
    asyncapi.set_defaults(func=_asyncapi)

    add_dlq_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    raise SystemExit(args.func(args))


if __name__ == "__main__":
    main()
