"""Retention (CONTRACT §2, DATA_RETENTION_DAYS): what holds customers' data is deleted once no longer needed.

Two jobs, each under its own PostgreSQL advisory lock, so among all replicas whichever gets there
first does it and the others skip it:

- personal data, after `DATA_RETENTION_DAYS` (30): published outbox rows (events carry names,
  addresses and phone numbers) and despatches that are written, failed or not written. Pending and
  posting despatches, and unpublished events, are never deleted. Leases that ran out long ago go too.
- the download memory, after the download window plus a margin (`ORDER_MAX_AGE_DAYS` + 3 days):
  `downloaded_orders` (what prevents a second download; an order older than the window is never
  listed again, and what OrderChanged compares goes with its row), `skipped_orders`, and change-scan
  cursors older than that (the next scan reads the window anyway). Only the order poller, which knows
  the window, runs it.

Each job deletes in batches of `batch_size` rows, one short statement each, so no long lock or
transaction ever holds up the services.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from prometheus_client import Counter

from common.backoff import Backoff, BackoffFactory
from common.db.advisory_locks import DOWNLOAD_MEMORY_RETENTION, PERSONAL_DATA_RETENTION
from common.db.leases import purge_expired_leases
from common.db.retention import (
    PURGE_CHANGE_SCANS,
    PURGE_DOWNLOADED_ORDERS,
    PURGE_FINISHED_DESPATCHES,
    PURGE_PUBLISHED_OUTBOX,
    PURGE_SKIPPED_ORDERS,
    purge_batch,
)
from common.leases import job_turn
from common.periodic import run_periodically
from common.supervision import finish, spawn

if TYPE_CHECKING:
    import asyncpg

log = structlog.get_logger(__name__)

ROWS_DELETED = Counter("retention_rows_deleted_total", "Rows deleted by the retention sweep", ["table"])

PERSONAL_DATA_LOCK = PERSONAL_DATA_RETENTION
DOWNLOAD_MEMORY_LOCK = DOWNLOAD_MEMORY_RETENTION
DOWNLOAD_MEMORY_MARGIN_DAYS = 3
EXPIRED_LEASE_AGE_S = 24 * 3600.0


@dataclass(frozen=True)
class RetentionPolicy:
    """How long what is kept; `order_window_days` None: this process does not sweep the download memory."""

    retention_days: int = 30
    order_window_days: int | None = None
    batch_size: int = 1000
    interval_s: float = 3600.0

    @property
    def download_memory_days(self) -> int | None:
        if self.order_window_days is None:
            return None
        return self.order_window_days + DOWNLOAD_MEMORY_MARGIN_DAYS


async def sweep(pool: asyncpg.Pool, policy: RetentionPolicy) -> dict[str, int] | None:
    """One pass of every job this process runs; rows deleted per table (None: other replicas had the locks)."""
    deleted: dict[str, int] = {}
    ran = False
    async with pool.acquire() as conn:
        jobs: list[tuple[int, list[tuple[str, str, int]]]] = [
            (
                PERSONAL_DATA_LOCK,
                [
                    ("outbox", PURGE_PUBLISHED_OUTBOX, policy.retention_days),
                    ("despatches", PURGE_FINISHED_DESPATCHES, policy.retention_days),
                ],
            )
        ]
        memory_days = policy.download_memory_days
        if memory_days is not None:
            jobs.append(
                (
                    DOWNLOAD_MEMORY_LOCK,
                    [
                        ("downloaded_orders", PURGE_DOWNLOADED_ORDERS, memory_days),
                        ("skipped_orders", PURGE_SKIPPED_ORDERS, memory_days),
                        ("order_change_scans", PURGE_CHANGE_SCANS, memory_days),
                    ],
                )
            )
        for key, tables in jobs:
            async with job_turn(conn, key) as mine:
                if not mine:
                    continue  # another replica is on it
                ran = True
                for table, statement, days in tables:
                    deleted[table] = await _purge(conn, table, statement, days, policy.batch_size)
                if key == PERSONAL_DATA_LOCK:
                    deleted["leases"] = await purge_expired_leases(conn, older_than_s=EXPIRED_LEASE_AGE_S)
    if not ran:
        return None
    log.info("retention_swept", **deleted)
    return deleted


async def _purge(conn: asyncpg.Connection, table: str, statement: str, days: int, batch_size: int) -> int:
    total = 0
    while True:
        count = await purge_batch(conn, statement, older_than_days=days, batch_size=batch_size)
        total += count
        ROWS_DELETED.labels(table).inc(count)
        if count < batch_size:
            return total


class RetentionSweeper:
    """Background task: `sweep` now and every `policy.interval_s`; a database outage is waited out."""

    def __init__(
        self, pool: asyncpg.Pool, policy: RetentionPolicy, *, backoff: BackoffFactory = Backoff
    ) -> None:
        self._pool = pool
        self._policy = policy
        self._backoff = backoff
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        await run_periodically(
            lambda: sweep(self._pool, self._policy),
            name="retention",
            interval_s=self._policy.interval_s,
            backoff=self._backoff,
        )

    async def __aenter__(self) -> RetentionSweeper:
        self._task = spawn(self._run(), name="retention")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            await finish(self._task)
            self._task = None
