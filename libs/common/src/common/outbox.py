"""Transactional outbox: events written with the state change that caused them, relayed with confirms."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

import asyncpg
import structlog
from prometheus_client import Counter, Gauge

from common.errors import PublishError
from common.events import Event
from common.redaction import redact_text

log = structlog.get_logger(__name__)

OUTBOX_RELAYED = Counter("outbox_events_relayed_total", "Events published from the outbox", ["event_type"])
OUTBOX_LAG = Gauge("outbox_lag_seconds", "Age of the oldest unpublished outbox event")

INSERT_EVENT = """
INSERT INTO outbox (event_id, event_type, routing_key, body) VALUES ($1, $2, $3, $4)
ON CONFLICT (event_id) DO NOTHING
"""


async def enqueue(conn: asyncpg.Connection, event: Event) -> None:
    """Write `event` to the outbox inside the caller's transaction."""
    await conn.execute(
        INSERT_EVENT, event.event_id, event.event_type, event.ROUTING_KEY, event.model_dump_json()
    )


class RawPublisher(Protocol):
    async def publish_raw(
        self, body: bytes, *, routing_key: str, message_id: str, event_type: str
    ) -> None: ...


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
# backoff doubles from 1 s and is capped, so an event waiting for its first subscriber
# is delivered soon after one binds
MARK_FAILED = """
UPDATE outbox o
   SET attempts = o.attempts + 1,
       last_error = f.error,
       next_attempt_at = now() + least(interval '1 second' * power(2, o.attempts), $3 * interval '1 second')
  FROM unnest($1::bigint[], $2::text[]) AS f(id, error)
 WHERE o.id = f.id
"""
SELECT_LAG = "SELECT EXTRACT(EPOCH FROM now() - min(created_at)) FROM outbox WHERE published_at IS NULL"


async def relay_batch(
    pool: asyncpg.Pool, publisher: RawPublisher, *, batch_size: int = 200, max_backoff_s: float = 30.0
) -> int:
    """Publish one batch of due events; returns how many the broker confirmed.

    Rows stay locked while publishing and are marked only after their confirm: a crash in
    between publishes them again (at least once; consumers deduplicate on event_id). A row
    the broker refuses waits with backoff and does not hold back the others.
    """
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(CLAIM_BATCH, batch_size)
        if not rows:
            return 0
        results = await asyncio.gather(
            *(
                publisher.publish_raw(
                    row["body"].encode(),
                    routing_key=row["routing_key"],
                    message_id=str(row["event_id"]),
                    event_type=row["event_type"],
                )
                for row in rows
            ),
            return_exceptions=True,
        )
        published = []
        failed: list[tuple[asyncpg.Record, Exception]] = []
        for row, result in zip(rows, results, strict=True):
            if isinstance(result, Exception):
                failed.append((row, result))
            elif isinstance(result, BaseException):
                raise result  # cancellation and the like are not publish failures
            else:
                published.append(row)
        if published:
            await conn.execute(MARK_PUBLISHED, [row["id"] for row in published])
        if failed:
            await conn.execute(
                MARK_FAILED,
                [row["id"] for row, _ in failed],
                [redact_text(str(error))[:500] for _, error in failed],
                max_backoff_s,
            )
        for row, error in failed:
            log.warning(
                "outbox_event_not_published",
                event_id=str(row["event_id"]),
                event_type=row["event_type"],
                attempts=row["attempts"] + 1,
                error=str(error),
            )
        for row in published:
            OUTBOX_RELAYED.labels(row["event_type"]).inc()
        return len(published)


class OutboxRelay:
    """Background task relaying the outbox; woken early by `notify()` after a commit."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        publisher: RawPublisher,
        *,
        idle_interval_s: float = 1.0,
        max_backoff_s: float = 30.0,
    ) -> None:
        self._pool = pool
        self._publisher = publisher
        self._idle_interval_s = idle_interval_s
        self._max_backoff_s = max_backoff_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def notify(self) -> None:
        self._wake.set()

    async def run_once(self) -> int:
        """Relay until the outbox is empty; returns how many events were published."""
        total = 0
        while True:
            count = await relay_batch(self._pool, self._publisher, max_backoff_s=self._max_backoff_s)
            total += count
            if count == 0:
                break
        lag = await self._pool.fetchval(SELECT_LAG)
        OUTBOX_LAG.set(float(lag or 0))
        return total

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except (PublishError, OSError, asyncpg.PostgresError) as error:
                log.warning("outbox_relay_failed", error=str(error))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._idle_interval_s)
            self._wake.clear()

    async def __aenter__(self) -> OutboxRelay:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
