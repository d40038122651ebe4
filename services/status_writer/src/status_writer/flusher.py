"""The flush: every due store, one replica per store (leases), as many stores at once as finishing in time needs."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import structlog
from common.backoff import Backoff, BackoffFactory
from common.bigcommerce.client import BigCommerceClient, StoreApi
from common.crypto import TokenCipher, TokenDecryptionError
from common.db.errors import is_server_error
from common.leases import FencedLease, FencedLeases
from common.lifecycle import replica_id

from status_writer.concurrency import FlushConcurrency
from status_writer.db.stores import FLUSH_LEASE_SCOPE, database_now, select_due_channels
from status_writer.db.writeback import (
    load_due_despatches,
    load_flush_channel,
    record_writeback_health,
    sweep_toggled_off,
)
from status_writer.metrics import (
    FLUSH_DURATION,
    FLUSH_STORES_IN_FLIGHT,
    REQUESTS_PER_WRITTEN,
    bigcommerce_requests_sent,
)
from status_writer.store_flush import FlushPolicy, StoreFlush, StoreFlushReport

if TYPE_CHECKING:
    import asyncpg

log = structlog.get_logger(__name__)


@dataclass
class FlushReport:
    """What one `flush_once` did, summed over stores."""

    stores: int = 0
    written: int = 0
    failed: int = 0
    not_written: int = 0
    deferred: int = 0
    requests: float = 0.0
    errors: dict[str, str] = field(default_factory=dict)
    # stores whose flush a database failure cut short: the loop tries again soon
    server_failures: int = 0
    # the most stores this flush had in flight at once
    peak_in_flight: int = 0

    def add(self, store_hash: str, report: StoreFlushReport) -> None:
        self.stores += 1
        self.written += report.written
        self.failed += report.failed
        self.not_written += report.not_written
        self.deferred += report.deferred
        if report.error:
            self.errors[store_hash] = report.error


class Flusher:
    """Writes due despatches back to BigCommerce; the service's loop calls `flush_once` on a timer."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        client: BigCommerceClient,
        cipher: TokenCipher,
        *,
        policy: FlushPolicy,
        concurrency: int | FlushConcurrency = 8,
        holder: str | None = None,
        clock: Callable[[], datetime] | None = None,
        batch_limit: int = 1000,
        backoff: BackoffFactory = Backoff,
    ) -> None:
        self._pool = pool
        self._client = client
        self._cipher = cipher
        self._policy = policy
        # a number is a fixed limit; a FlushConcurrency grows it from measured flush times
        self.concurrency = (
            concurrency
            if isinstance(concurrency, FlushConcurrency)
            else FlushConcurrency(initial=concurrency, ceiling=concurrency)
        )
        self.holder = holder or replica_id()
        # Due times are stamped by PostgreSQL's now() on ingest, so they are compared on the
        # database's clock: a host clock behind it would leave a fresh despatch for a later flush.
        # Tests drive `clock` instead.
        self._clock = clock
        self._batch_limit = batch_limit
        self._leases = FencedLeases(
            pool,
            FLUSH_LEASE_SCOPE,
            holder=self.holder,
            duration_s=policy.lease_s,
            clock=clock,
            backoff=backoff,
        )
        self.stopping = asyncio.Event()

    async def now(self) -> datetime:
        """The clock of due times and leases: the driven one in tests, else the database's."""
        if self._clock is not None:
            return self._clock()
        return await database_now(self._pool)

    def stop(self) -> None:
        """Finish the order in hand in every store, then end the flush (the service's SIGTERM path)."""
        self.stopping.set()

    async def flush_once(self) -> FlushReport:
        """One pass over every store with despatches due now."""
        started = time.perf_counter()
        requests_before = bigcommerce_requests_sent()
        report = FlushReport()
        swept = await sweep_toggled_off(self._pool)
        if swept:
            log.info("despatches_not_written", count=swept, reason="mark orders as despatched is off")
        channel_ids = await select_due_channels(self._pool, await self.now())

        async def one(channel_id: uuid.UUID) -> None:
            store_started = time.perf_counter()
            try:
                result = await self._flush_store(channel_id)
            except Exception as error:
                if is_server_error(error):
                    # what was sent is recorded as 'posting'; the store is flushed again soon
                    report.server_failures += 1
                    log.warning(
                        "store_flush_interrupted_by_server",
                        channel_id=str(channel_id),
                        error=type(error).__name__,
                    )
                    return
                # one store's unexpected failure must not end the flush of the others; its
                # despatches stay due (or 'posting', reconciled) for the next flush
                log.exception("store_flush_crashed", channel_id=str(channel_id))
                return
            if result is not None:
                # only stores really flushed: one left to another replica took no time
                self.concurrency.observe(time.perf_counter() - store_started)
                report.add(*result)

        await self._run_sized(channel_ids, one, report, started)
        report.requests = bigcommerce_requests_sent() - requests_before
        FLUSH_DURATION.observe(time.perf_counter() - started)
        if report.written:
            REQUESTS_PER_WRITTEN.set(report.requests / report.written)
        log.info(
            "flush_completed",
            stores=report.stores,
            written=report.written,
            failed=report.failed,
            not_written=report.not_written,
            deferred=report.deferred,
            requests=int(report.requests),
        )
        return report

    async def _run_sized(
        self,
        channel_ids: list[uuid.UUID],
        one: Callable[[uuid.UUID], Awaitable[None]],
        report: FlushReport,
        started: float,
    ) -> None:
        """Flush these stores, starting another whenever fewer are in flight than finishing in time needs."""
        waiting = deque(channel_ids)
        running: set[asyncio.Future[None]] = set()
        try:
            while waiting or running:
                limit = self._in_flight_limit(
                    len(waiting) + len(running), time.perf_counter() - started, len(running)
                )
                while waiting and len(running) < limit and not self.stopping.is_set():
                    running.add(asyncio.ensure_future(one(waiting.popleft())))
                report.peak_in_flight = max(report.peak_in_flight, len(running))
                FLUSH_STORES_IN_FLIGHT.set(len(running))
                if not running:
                    break  # stopping: the stores not started stay due for the next flush
                _, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # cancelled (the shutdown grace ran out): each store's flush hands its lease back
            for task in running:
                task.cancel()
            if running:
                await asyncio.wait(running)
            FLUSH_STORES_IN_FLIGHT.set(0)

    def _in_flight_limit(self, backlog: int, elapsed_s: float, running: int) -> int:
        wanted = self.concurrency.wanted(backlog, elapsed_s)
        pool_full = self._pool.get_size() >= self._pool.get_max_size() and self._pool.get_idle_size() == 0
        if wanted > running >= self.concurrency.initial and pool_full:
            # every database connection is busy: another store would only queue for one
            return running
        return wanted

    async def _flush_store(self, channel_id: uuid.UUID) -> tuple[str, StoreFlushReport] | None:
        lease = await self._leases.acquire(channel_id)
        if lease is None:
            return None  # another replica is flushing this store
        try:
            return await self._flush_leased(channel_id, lease)
        finally:
            # shielded: a cancelled flush still hands the store back rather than waiting for expiry
            await asyncio.shield(lease.release())

    async def _flush_leased(
        self, channel_id: uuid.UUID, lease: FencedLease
    ) -> tuple[str, StoreFlushReport] | None:
        # re-read after taking the lease: a disconnect or new token since the scan must count
        channel = await load_flush_channel(self._pool, channel_id)
        if (
            channel is None
            or channel.status != "active"
            or not channel.mark_orders_as_despatched
            or channel.access_token_encrypted is None
        ):
            return None
        try:
            token = self._cipher.decrypt(channel.access_token_encrypted)
        except TokenDecryptionError:
            error = "the stored token cannot be decrypted with the configured TOKEN_ENCRYPTION_KEYS"
            await record_writeback_health(self._pool, channel_id, completed=False, error=error)
            log.error("store_flush_skipped", store_hash=channel.store_hash, reason=error)
            return channel.store_hash, StoreFlushReport(error=error)

        def api(before_request: Callable[[], Awaitable[None]]) -> StoreApi:
            return self._client.store(
                channel.store_hash, token, plan=channel.plan_name, before_request=before_request
            )

        flush = StoreFlush(
            self._pool,
            api,
            channel,
            lease=lease,
            clock=self.now,
            policy=self._policy,
            stopping=self.stopping,
        )
        seen: set[int] = set()
        completed = True
        while True:
            due = await load_due_despatches(self._pool, channel_id, await self.now(), self._batch_limit)
            fresh = [d for d in due if d.id not in seen]
            if not fresh:
                break
            seen.update(d.id for d in fresh)
            if not await flush.run(fresh):
                completed = False
                break
        flush.report.completed = completed and not self.stopping.is_set()
        await record_writeback_health(
            self._pool, channel_id, completed=flush.report.completed, error=flush.report.error
        )
        return channel.store_hash, flush.report
