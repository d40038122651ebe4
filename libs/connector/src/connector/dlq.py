"""Dead letters of a queue: listed without their personal data, and redriven to the queue with confirms.

Both take at most the messages that were in the dead-letter queue when they started (counted
first, then fetched one by one with basic.get and held unacked), so a message that is dead-lettered
again while a redrive runs is never moved twice in that run, and nothing loops. What is not moved
returns to the queue, in its place, when the channel closes.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage
from common.amqp import REJECTION_REASON_HEADER

# Identifiers only: the body may hold names and addresses, which never leave this module.
_ID_FIELDS = ("event_id", "channel_id", "store_hash", "order_id")
_MAX_BODY_BYTES = 1_000_000  # larger bodies are not parsed for ids
_MAX_TEXT = 200
# Broker-managed headers: a redriven copy starts a fresh history on the queue.
_DROPPED_HEADERS = re.compile(
    r"^(x-death|x-first-death-.*|x-last-death-.*|x-delivery-count|x-rejection-reason)$"
)
REDRIVE_COUNT_HEADER = "x-redrive-count"
# how long a command waits for the letters it handed back to be counted in the queue again
RETURN_WAIT_S = 5.0


class DeadLetterError(Exception):
    """A dead-letter operation could not start or stopped; the message says what and why."""


def printable(value: object, limit: int = _MAX_TEXT) -> str:
    """`value` as one line of printable text (headers and bodies come from anywhere)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = "".join(ch if ch.isprintable() else "?" for ch in str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class DeadLetter:
    """What an operator may see of one dead letter: why, since when, what, and which ids."""

    reason: str
    event_type: str | None
    message_id: str | None
    dead_lettered_at: datetime | None
    redeliveries: int
    ids: Mapping[str, str] = field(default_factory=dict)

    def age(self, now: datetime) -> timedelta | None:
        return None if self.dead_lettered_at is None else now - self.dead_lettered_at


def _first_death(headers: Mapping[str, Any]) -> Mapping[str, Any] | None:
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], Mapping):
        return deaths[0]
    return None


def _aware(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # AMQP timestamps are UTC seconds


def _count(death: Mapping[str, Any] | None) -> int:
    count = death.get("count") if death is not None else None
    return count if isinstance(count, int) and not isinstance(count, bool) else 0


def _ids(body: bytes) -> dict[str, str]:
    if len(body) > _MAX_BODY_BYTES:
        return {}
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(data, dict):
        return {}
    found = {}
    for name in _ID_FIELDS:
        value = data.get(name)
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            found[name] = printable(value, 64)
    return found


def describe(message: AbstractIncomingMessage) -> DeadLetter:
    """The operator's view of a dead letter; never its body beyond the identifiers."""
    headers: Mapping[str, Any] = message.headers or {}
    death = _first_death(headers)
    reason = headers.get(REJECTION_REASON_HEADER)
    if reason is None and death is not None:
        reason = f"broker: {printable(death.get('reason', 'dead-lettered'))}"  # e.g. delivery_limit
    # the broker stamps when it dead-lettered; the status writer sets the message timestamp
    dead_lettered_at = _aware(death.get("time")) if death is not None else None
    ids = _ids(message.body)
    return DeadLetter(
        reason=printable(reason if reason is not None else "unknown"),
        event_type=printable(message.type, 64) if message.type else None,
        message_id=printable(message.message_id, 64) if message.message_id else ids.get("event_id"),
        dead_lettered_at=dead_lettered_at or _aware(message.timestamp),
        redeliveries=_count(death),
        ids=ids,
    )


@asynccontextmanager
async def _held(
    connection: AbstractConnection, dlq: str, limit: int | None
) -> AsyncIterator[tuple[AbstractChannel, list[AbstractIncomingMessage]]]:
    """The first messages of `dlq`, unacked; those not acked go back to the queue on exit."""
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    counted = 0
    held: list[AbstractIncomingMessage] = []
    try:
        try:
            queue = await channel.declare_queue(dlq, passive=True)
        except aiormq.exceptions.ChannelNotFoundEntity as error:
            raise DeadLetterError(f"queue {dlq} does not exist") from error
        counted = queue.declaration_result.message_count or 0
        wanted = counted if limit is None else min(counted, limit)
        while len(held) < wanted:
            message = await queue.get(no_ack=False, fail=False)
            if message is None:  # taken by someone else meanwhile
                break
            held.append(message)
        yield channel, held
    finally:
        if not channel.is_closed:
            await channel.close()  # returns every message not acked
    await _await_returned(connection, dlq, counted - sum(m.processed for m in held))


async def _await_returned(connection: AbstractConnection, dlq: str, expected: int) -> None:
    """Wait (briefly) until the letters handed back are counted in `dlq` again.

    A quorum queue counts returned messages a moment after the channel closes: without this, a
    list or redrive run right after another would find them missing.
    """
    deadline = asyncio.get_running_loop().time() + RETURN_WAIT_S
    while asyncio.get_running_loop().time() < deadline:
        check = await connection.channel()
        try:
            declared = await check.declare_queue(dlq, passive=True)
            if (declared.declaration_result.message_count or 0) >= expected:
                return
        except aiormq.exceptions.ChannelNotFoundEntity:
            return  # deleted meanwhile: nothing to wait for
        finally:
            if not check.is_closed:
                await check.close()
        await asyncio.sleep(0.05)


async def list_dead_letters(
    connection: AbstractConnection, dlq: str, *, limit: int = 100
) -> list[DeadLetter]:
    """Up to `limit` dead letters, oldest first, left where they are."""
    async with _held(connection, dlq, limit) as (_, held):
        return [describe(message) for message in held]


@dataclass(frozen=True)
class RedriveResult:
    moved: int
    kept: int
    error: str | None = None


def _redriven(message: AbstractIncomingMessage) -> aio_pika.Message:
    headers = {k: v for k, v in (message.headers or {}).items() if not _DROPPED_HEADERS.match(k)}
    previous = headers.get(REDRIVE_COUNT_HEADER)
    headers[REDRIVE_COUNT_HEADER] = (previous if isinstance(previous, int) else 0) + 1
    return aio_pika.Message(
        message.body,
        headers=headers,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        type=message.type,
        timestamp=message.timestamp,
    )


async def redrive(
    connection: AbstractConnection,
    dlq: str,
    queue: str,
    *,
    matches: Callable[[DeadLetter], bool],
    limit: int | None = None,
    timeout_s: float = 10.0,
) -> RedriveResult:
    """Move the matching dead letters of `dlq` back to `queue`, each acked only after its confirm.

    Published through the default exchange straight to `queue`, so no other subscriber of the
    routing key receives a second copy. Stops at the first publish the broker does not confirm:
    that message and the rest stay in `dlq`. A crash between a confirm and its ack leaves a copy
    in both queues; consumers deduplicate on event_id.
    """
    check = await connection.channel()
    try:
        await check.declare_queue(queue, passive=True)
    except aiormq.exceptions.ChannelNotFoundEntity as error:
        raise DeadLetterError(f"queue {queue} does not exist: nothing to redrive to") from error
    finally:
        if not check.is_closed:
            await check.close()
    moved = kept = 0
    async with _held(connection, dlq, limit) as (channel, held):
        for index, message in enumerate(held):
            if not matches(describe(message)):
                kept += 1
                continue
            try:
                await channel.default_exchange.publish(
                    _redriven(message), routing_key=queue, mandatory=True, timeout=timeout_s
                )
            except (
                aiormq.exceptions.AMQPError,
                aiormq.exceptions.ChannelInvalidStateError,
                ConnectionError,
                TimeoutError,
            ) as error:
                return RedriveResult(
                    moved, kept + len(held) - index, f"not confirmed: {type(error).__name__}"
                )
            await message.ack()  # only now: the copy is safely on `queue`
            moved += 1
    return RedriveResult(moved, kept)


_DURATION = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """`90s`, `30m`, `2h`, `1d`, `1h30m` as a timedelta; ValueError otherwise."""
    cleaned = text.strip().lower()
    if not cleaned or _DURATION.sub("", cleaned):
        raise ValueError(f"{text!r} is not a duration such as 30m, 2h, 1d or 1h30m")
    return timedelta(seconds=sum(int(n) * _UNITS[unit] for n, unit in _DURATION.findall(cleaned)))


def selection(
    *, reason: str | None, older_than: timedelta | None, now: datetime
) -> Callable[[DeadLetter], bool]:
    """Dead letters whose reason contains `reason` (any case) and that are older than `older_than`.

    A dead letter of unknown age never counts as older than anything.
    """
    needle = reason.lower() if reason else None

    def matches(letter: DeadLetter) -> bool:
        if needle is not None and needle not in letter.reason.lower():
            return False
        if older_than is not None:
            age = letter.age(now)
            return age is not None and age > older_than
        return True

    return matches
