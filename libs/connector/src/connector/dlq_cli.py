"""`connector dlq list` and `connector dlq redrive`: the dead letters of the status writer's queue."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta

import aio_pika
from common.amqp import ORDER_DESPATCHED_QUEUE
from common.settings import ServiceSettings, load_settings

from connector.dlq import DeadLetter, DeadLetterError, list_dead_letters, parse_duration, redrive, selection

_COLUMNS = ("AGE", "REASON", "TYPE", "EVENT_ID", "CHANNEL_ID", "STORE", "ORDER", "DEATHS")


def duration(text: str) -> timedelta:
    """argparse type for --older-than."""
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_dlq_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`dlq list` and `dlq redrive` under the `connector` command."""
    dlq = commands.add_parser("dlq", help="list or redrive the status writer's dead letters")
    actions = dlq.add_subparsers(dest="dlq_command", required=True)
    for name, summary in (
        ("list", "show dead letters: reason, age, event type, ids (never the body's personal data)"),
        ("redrive", "move dead letters back to the queue, each acked only after the broker's confirm"),
    ):
        action = actions.add_parser(name, help=summary, description=summary)
        action.add_argument(
            "--queue",
            default=ORDER_DESPATCHED_QUEUE,
            help="the main queue; its dead letters are in <queue>.dlq",
        )
        action.add_argument("--reason", help="only dead letters whose reason contains this text (any case)")
        action.add_argument(
            "--older-than", type=duration, help="only those dead-lettered longer ago: 30m, 2h, 1d"
        )
        action.add_argument(
            "--limit", type=int, default=100 if name == "list" else None, help="at most this many"
        )
        if name == "list":
            action.add_argument("--json", action="store_true", help="one JSON object per line")
        action.set_defaults(func=run_dlq)


def _age(letter: DeadLetter, now: datetime) -> str:
    age = letter.age(now)
    if age is None:
        return "?"
    seconds = max(0, int(age.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _row(letter: DeadLetter, now: datetime) -> tuple[str, ...]:
    return (
        _age(letter, now),
        letter.reason,
        letter.event_type or "-",
        letter.message_id or "-",
        letter.ids.get("channel_id", "-"),
        letter.ids.get("store_hash", "-"),
        letter.ids.get("order_id", "-"),
        str(letter.redeliveries),
    )


def _json_line(letter: DeadLetter, now: datetime) -> str:
    age = letter.age(now)
    return json.dumps(
        {
            "reason": letter.reason,
            "age_seconds": None if age is None else round(age.total_seconds()),
            "dead_lettered_at": letter.dead_lettered_at.isoformat() if letter.dead_lettered_at else None,
            "event_type": letter.event_type,
            "event_id": letter.message_id,
            **{k: v for k, v in letter.ids.items() if k != "event_id"},
            "deaths": letter.redeliveries,
        }
    )


def _print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in [_COLUMNS, *rows]) for i in range(len(_COLUMNS))]
    for row in [_COLUMNS, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


async def _run(args: argparse.Namespace, amqp_url: str) -> int:
    now = datetime.now(UTC)
    dlq = f"{args.queue}.dlq"
    matches = selection(reason=args.reason, older_than=args.older_than, now=now)
    connection = await aio_pika.connect(amqp_url, client_properties={"connection_name": "connector-dlq"})
    try:
        if args.dlq_command == "list":
            letters = [
                letter
                for letter in await list_dead_letters(connection, dlq, limit=args.limit)
                if matches(letter)
            ]
            if args.json:
                for letter in letters:
                    print(_json_line(letter, now))
            else:
                _print_table([_row(letter, now) for letter in letters])
                print(f"{len(letters)} dead letter(s) shown from {dlq}", file=sys.stderr)
            return 0
        result = await redrive(connection, dlq, args.queue, matches=matches, limit=args.limit)
    finally:
        await connection.close()
    print(f"moved {result.moved} dead letter(s) from {dlq} to {args.queue}; {result.kept} left in {dlq}")
    if result.error is not None:
        print(f"redrive stopped: {result.error}; the rest stay in {dlq}", file=sys.stderr)
        return 1
    return 0


def run_dlq(args: argparse.Namespace) -> int:
    """Entry of both subcommands; one line on stderr and exit 1 when the broker refuses."""
    settings = load_settings(ServiceSettings)
    try:
        return asyncio.run(_run(args, settings.amqp_url.get_secret_value()))
    except DeadLetterError as error:
        print(f"dlq {args.dlq_command} failed: {error}", file=sys.stderr)
    except (OSError, aio_pika.exceptions.AMQPError) as error:
        print(
            f"dlq {args.dlq_command} failed: broker unreachable or refused ({type(error).__name__})",
            file=sys.stderr,
        )
    return 1
