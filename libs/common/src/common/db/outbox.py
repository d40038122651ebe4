"""The outbox table: events written with the state change that caused them, claimed and marked by the relay."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from common.events import Event

INSERT_EVENT = """
INSERT INTO outbox (event_id, event_type, routing_key, body) VALUES ($1, $2, $3, $4)
ON CONFLICT (event_id) DO NOTHING
"""


async def enqueue(conn: asyncpg.Connection, event: Event) -> None:
    """Write `event` to the outbox inside the caller's transaction."""
    await conn.execute(
        INSERT_EVENT, event.event_id, event.event_type, event.ROUTING_KEY, event.model_dump_json()
    )


@dataclass(frozen=True)
class OutboxRow:
    """An unpublished event as the relay claimed it."""

    id: int
    event_id: uuid.UUID
    event_type: str
    routing_key: str
    body: str
    attempts: int


# SKIP LOCKED lets several replicas relay side by side without publishing a row twice at once.
CLAIM_BATCH = """
SELECT id, event_id, event_type, routing_key, body, attempts
  FROM outbox
 WHERE published_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= now())
 ORDER BY id
 LIMIT $1
 FOR UPDATE SKIP LOCKED
"""
MARK_PUBLISHED = "UPDATE outbox SET published_at = now(), last_error = NULL WHERE id = ANY($1::bigint[])"
# The delay is computed by the caller (`common.backoff.capped_delay`, whose exponent is clamped
# first): no attempt count can overflow it (PostgreSQL's `power(2, 44)` seconds is out of an
# interval's range). The count itself stops short of integer's maximum.
MARK_FAILED = """
UPDATE outbox o
   SET attempts = LEAST(o.attempts, 2147483646) + 1,
       last_error = f.error,
       next_attempt_at = now() + make_interval(secs => f.delay_s)
  FROM unnest($1::bigint[], $2::text[], $3::float8[]) AS f(id, error, delay_s)
 WHERE o.id = f.id AND o.published_at IS NULL
"""
SELECT_STATE = """
SELECT EXTRACT(EPOCH FROM now() - min(created_at)) AS lag_s, count(*) FILTER (WHERE attempts > 0) AS waiting
  FROM outbox WHERE published_at IS NULL
"""


async def claim_batch(conn: asyncpg.Connection, batch_size: int) -> list[OutboxRow]:
    """Lock up to `batch_size` due events, oldest first, for the caller's transaction."""
    return [OutboxRow(**dict(row)) for row in await conn.fetch(CLAIM_BATCH, batch_size)]


async def mark_published(conn: asyncpg.Connection, ids: list[int]) -> None:
    await conn.execute(MARK_PUBLISHED, ids)


async def mark_failed(
    conn: asyncpg.Connection, ids: list[int], errors: list[str], delays_s: list[float]
) -> None:
    """Record each refused event's error and the delay before its next attempt."""
    await conn.execute(MARK_FAILED, ids, errors, delays_s)


@dataclass(frozen=True)
class OutboxState:
    lag_s: float
    """Age of the oldest unpublished event (0 when none)."""
    waiting: int
    """Unpublished events that failed at least once."""


async def outbox_state(conn: asyncpg.Connection | asyncpg.Pool) -> OutboxState:
    row = await conn.fetchrow(SELECT_STATE)
    return OutboxState(lag_s=float(row["lag_s"] or 0), waiting=int(row["waiting"]))
