"""Transactional outbox: events written with the state change that caused them, relayed with confirms.

An event the broker cannot take (no queue bound for its routing key yet, a nack) waits on its own
capped backoff and never holds back the others. A broker that is down holds back everything, and
then no event is blamed for it: the relay waits for the broker instead.
"""

from __future__ import annotations

import asyncio
from collections import Counter as Tally
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import structlog
from prometheus_client import Counter, Gauge

from common.backoff import Backoff, BackoffFactory, capped_delay
from common.db.errors import is_server_error
from common.db.outbox import OutboxRow, claim_batch, enqueue, mark_failed, mark_published, outbox_state
from common.errors import PublishError
from common.redaction import redact_text
from common.supervision import finish, spawn
from common.waiting import wait_for_event

if TYPE_CHECKING:
    import asyncpg

__all__ = ["BrokerUnavailableError", "OutboxRelay", "RawPublisher", "RelayedBatch", "enqueue", "relay_batch"]
# `enqueue` lives with the outbox's SQL (common.db.outbox); it is named here too for the callers
# that import it from the relay's module.

log = structlog.get_logger(__name__)

OUTBOX_RELAYED = Counter("outbox_events_relayed_total", "Events published from the outbox", ["event_type"])
OUTBOX_FAILED = Counter(
    "outbox_publish_failures_total",
    "Outbox events the broker did not take, by reason (unroutable: nobody bound its routing key yet)",
    ["event_type", "reason"],
)
OUTBOX_LAG = Gauge("outbox_lag_seconds", "Age of the oldest unpublished outbox event")
OUTBOX_WAITING = Gauge(
    "outbox_events_waiting", "Unpublished outbox events that failed at least once and wait for a retry"
)


class RawPublisher(Protocol):
    async def publish_raw(
        self, body: bytes, *, routing_key: str, message_id: str, event_type: str
    ) -> None: ...


class BrokerUnavailableError(PublishError):
    """The broker took nothing (connection or channel down, no confirms): wait for it, blame no event."""


@dataclass(frozen=True)
class RelayedBatch:
    """How many rows one batch claimed, and how many of them the broker confirmed."""

    claimed: int
    published: int


@dataclass(frozen=True)
class _Failure:
    id: int
    event_type: str
    routing_key: str
    attempts: int
    error: PublishError


async def relay_batch(
    pool: asyncpg.Pool,
    publisher: RawPublisher,
    *,
    batch_size: int = 200,
    base_backoff_s: float = 1.0,
    max_backoff_s: float = 30.0,
) -> RelayedBatch:
    """Publish one batch of due events.

    Rows stay locked while publishing and are marked only after their confirm: a crash in
    between publishes them again (at least once; consumers deduplicate on event_id). The marks
    of the confirmed rows are committed before any failure is recorded, so a failing bookkeeping
    step can never un-publish them.

    Raises:
        BrokerUnavailableError: the broker was down for (some of) the batch; the confirmed rows are
            marked, the others are left as they were.
    """
    async with pool.acquire() as conn:
        failures: list[_Failure] = []
        broker_down: PublishError | None = None
        unexpected: BaseException | None = None
        async with conn.transaction():
            rows = await claim_batch(conn, batch_size)
            if not rows:
                return RelayedBatch(0, 0)
            results = await asyncio.gather(
                *(
                    publisher.publish_raw(
                        row.body.encode(),
                        routing_key=row.routing_key,
                        message_id=str(row.event_id),
                        event_type=row.event_type,
                    )
                    for row in rows
                ),
                return_exceptions=True,
            )
            published: list[OutboxRow] = []
            for row, result in zip(rows, results, strict=True):
                if result is None:
                    published.append(row)
                    continue
                error = _as_publish_error(result)
                if error is None:
                    unexpected = unexpected or result
                elif error.broker_down:
                    broker_down = error
                else:
                    failures.append(_Failure(row.id, row.event_type, row.routing_key, row.attempts, error))
            if published:
                await mark_published(conn, [row.id for row in published])
        # committed: the confirmed rows stay published whatever happens below
        if unexpected is not None:
            raise unexpected  # a bug or a cancellation, not a publish failure: after the marks
        for row in published:
            OUTBOX_RELAYED.labels(row.event_type).inc()
        if failures:
            await _record_failures(conn, failures, base_backoff_s=base_backoff_s, max_backoff_s=max_backoff_s)
        if broker_down is not None:
            raise BrokerUnavailableError(str(broker_down), reason=broker_down.reason) from broker_down
        return RelayedBatch(len(rows), len(published))


def _as_publish_error(result: BaseException) -> PublishError | None:
    """The publish failure `result` stands for; None when it is no publish failure at all."""
    if isinstance(result, PublishError):
        return result
    if isinstance(result, OSError):
        # a publisher without the classification: a dead socket is the broker's fault
        return PublishError(str(result) or type(result).__name__, reason="connection")
    return None


async def _record_failures(
    conn: asyncpg.Connection, failures: list[_Failure], *, base_backoff_s: float, max_backoff_s: float
) -> None:
    """Each refused event waits its own backoff; one log line per batch (each event at most once per step)."""
    delays = [capped_delay(f.attempts, base_s=base_backoff_s, max_s=max_backoff_s) for f in failures]
    await mark_failed(
        conn, [f.id for f in failures], [redact_text(str(f.error))[:500] for f in failures], delays
    )
    for failure in failures:
        OUTBOX_FAILED.labels(failure.event_type, failure.error.reason).inc()
    log.warning(
        "outbox_events_not_published",
        count=len(failures),
        reasons=dict(Tally(f.error.reason for f in failures)),
        routing_keys=sorted({f.routing_key for f in failures}),
        max_attempts=max(f.attempts for f in failures) + 1,
        retry_in_s=round(min(delays), 3),
    )


class OutboxRelay:
    """Background task relaying the outbox; woken early by `notify()` after a commit.

    A database or broker outage is waited out with `backoff`; anything else the relay cannot
    handle ends the task, and with it the process (see `common.supervision`).
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        publisher: RawPublisher,
        *,
        idle_interval_s: float = 1.0,
        batch_size: int = 200,
        base_backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        backoff: BackoffFactory = Backoff,
    ) -> None:
        if base_backoff_s <= 0 or max_backoff_s <= 0:
            raise ValueError("an event the broker refused must wait before its next attempt")
        self._pool = pool
        self._publisher = publisher
        self._idle_interval_s = idle_interval_s
        self._batch_size = batch_size
        self._base_backoff_s = base_backoff_s
        self._max_backoff_s = max_backoff_s
        self._backoff = backoff
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def notify(self) -> None:
        self._wake.set()

    async def run_once(self) -> int:
        """Relay until nothing is due; returns how many events were published.

        Raises:
            BrokerUnavailableError: the broker is down (what it confirmed before is marked).
        """
        total = 0
        while True:
            batch = await relay_batch(
                self._pool,
                self._publisher,
                batch_size=self._batch_size,
                base_backoff_s=self._base_backoff_s,
                max_backoff_s=self._max_backoff_s,
            )
            total += batch.published
            # a full batch means more may be due, even when every row of it was refused
            if batch.claimed < self._batch_size:
                break
        state = await outbox_state(self._pool)
        OUTBOX_LAG.set(state.lag_s)
        OUTBOX_WAITING.set(state.waiting)
        return total

    async def _run(self) -> None:
        backoff = self._backoff()
        while True:
            wait_s = self._idle_interval_s
            try:
                await self.run_once()
                backoff.reset()
            except Exception as error:
                if not (isinstance(error, BrokerUnavailableError) or is_server_error(error)):
                    raise
                wait_s = backoff.next_delay()
                log.warning(
                    "outbox_relay_waiting_for_server",
                    error=type(error).__name__,
                    detail=str(error)[:200],
                    attempt=backoff.attempt,
                    retry_in_s=round(wait_s, 3),
                )
            await wait_for_event(self._wake, wait_s)
            self._wake.clear()

    async def __aenter__(self) -> OutboxRelay:
        self._task = spawn(self._run(), name="outbox-relay")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            await finish(self._task)
            self._task = None
