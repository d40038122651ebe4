"""The status writer process: ingest from RabbitMQ, flush to BigCommerce on a timer, health, clean stop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from types import TracebackType

import aiohttp
import structlog
from common.amqp import QueueSpec, Topology, open_connection, order_despatched_queue
from common.backoff import Backoff, BackoffFactory
from common.bigcommerce.client import BigCommerceClient
from common.consumer import BatchConsumer
from common.crypto import TokenCipher
from common.db.errors import is_server_error
from common.db.pool import open_pool
from common.health import dependency_health, serve_health
from common.operational_metrics import dead_letter_depth, pending_despatches
from common.retention import RetentionPolicy, RetentionSweeper
from common.supervision import finish, spawn
from common.waiting import wait_for_event

from status_writer.flusher import Flusher
from status_writer.ingest import DespatchIngestor
from status_writer.settings import WriterSettings
from status_writer.store_flush import FlushPolicy

log = structlog.get_logger(__name__)


Wait = Callable[[asyncio.Event, float], Awaitable[None]]


async def wait_or_stop(stopping: asyncio.Event, timeout_s: float) -> None:
    """Return after `timeout_s`, or at once when `stopping` is set."""
    await wait_for_event(stopping, timeout_s)


class FlushLoop:
    """Calls `flush_once` now and then every interval; on exit lets the flush in hand finish or abandons it.

    Flushes start on a fixed schedule (start, start + interval, ...), not an interval after the
    previous one ended, so the period does not drift by each flush's duration: a despatch that
    arrives after a flush has read its store is written by the next one, at most one interval later.
    A flush that outlasts the interval is followed by the next at once, and one that met a
    database failure is tried again after a short backoff (despatches are durable; only the wait
    for the next interval would be lost).
    """

    def __init__(
        self,
        flusher: Flusher,
        interval_s: float,
        *,
        grace_s: float,
        clock: Callable[[], float] = time.monotonic,
        wait: Wait = wait_or_stop,
        backoff: BackoffFactory = Backoff,
    ) -> None:
        self._flusher = flusher
        self._interval_s = interval_s
        self._grace_s = grace_s
        self._clock = clock
        self._wait = wait
        self._backoff = backoff
        self._task: asyncio.Task[None] | None = None
        self._deadline: float | None = None

    def stop(self) -> None:
        """Tell the flush to end after the order in hand; the grace period counts from the first call."""
        if self._deadline is None:
            self._deadline = self._clock() + self._grace_s
        self._flusher.stop()

    async def __aenter__(self) -> FlushLoop:
        self._task = spawn(self._run(), name="status-writer:flush")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        if self._task is None:
            return
        assert self._deadline is not None
        try:
            # the flush stops after the order in hand; past the grace it is cancelled, and a request
            # already sent stays recorded as 'posting' for the next flush to reconcile
            remaining_s = max(0.0, self._deadline - self._clock())
            await asyncio.wait_for(asyncio.shield(self._task), remaining_s)
        except TimeoutError:
            log.warning("flush_abandoned", grace_s=self._grace_s)
        except Exception:  # noqa: BLE001, S110 - the loop died: `finish` reports it once
            pass
        await finish(self._task)

    async def _run(self) -> None:
        stopping = self._flusher.stopping
        backoff = self._backoff()
        due = self._clock()
        while not stopping.is_set():
            try:
                report = await self._flusher.flush_once()
                server_failed = report.server_failures > 0
            except Exception as error:
                # anything but a server failure is a bug: the task dies and takes the process down
                if not is_server_error(error):
                    raise
                log.warning("flush_waiting_for_server", error=type(error).__name__)
                server_failed = True
            if server_failed:
                # the database failed under some store: try again soon instead of an interval later
                await self._wait(stopping, backoff.next_delay())
                continue
            backoff.reset()
            due += self._interval_s
            now = self._clock()
            if due < now:
                # overran: flush again at once and count the schedule from here
                log.warning("flush_overran_interval", interval_s=self._interval_s, late_s=round(now - due, 3))
                due = now
            await self._wait(stopping, due - now)


async def run(settings: WriterSettings, stop: asyncio.Event, *, queue: QueueSpec | None = None) -> None:
    """settings -> pool -> AMQP -> health -> flush loop and consumer -> wait -> drain -> close in reverse.

    `queue` defaults to the contract's queue; tests pass a private one.
    """
    queue = queue or order_despatched_queue()
    async with AsyncExitStack() as stack:
        pool = await stack.enter_async_context(
            open_pool(settings.database_url.get_secret_value(), max_size=settings.database_pool_size)
        )
        connection = await stack.enter_async_context(
            open_connection(settings.amqp_url.get_secret_value(), name="status-writer")
        )

        health = dependency_health(pool, connection)
        health.refreshers += [
            pending_despatches(pool, settings.flush_interval_seconds),
            dead_letter_depth(connection, queue.dlq_name),
        ]
        await stack.enter_async_context(serve_health(settings.http_port, health, host=settings.http_host))
        await stack.enter_async_context(
            RetentionSweeper(
                pool,
                RetentionPolicy(retention_days=settings.data_retention_days),
                backoff=settings.server_backoff,
            )
        )
        session = await stack.enter_async_context(aiohttp.ClientSession())
        client = BigCommerceClient.for_service(session, settings)
        flusher = Flusher(
            pool,
            client,
            TokenCipher(settings.token_encryption_keys),
            policy=FlushPolicy(
                lease_s=settings.flush_lease_seconds,
                order_budget_s=settings.order_time_budget_seconds,
                backoff_s=settings.retry_backoff_seconds,
                backoff_max_s=settings.retry_backoff_max_seconds,
            ),
            concurrency=settings.flush_concurrency_policy(),
            backoff=settings.server_backoff,
        )
        flush_loop = await stack.enter_async_context(
            FlushLoop(
                flusher,
                settings.flush_interval_seconds,
                grace_s=settings.shutdown_grace_s,
                backoff=settings.server_backoff,
            )
        )
        # entered last, so it exits first: consuming stops, then the flush (told at the stop) is awaited
        await stack.enter_async_context(
            BatchConsumer(
                connection,
                Topology(exchange=settings.amqp_exchange, queues=(queue,)),
                queue,
                DespatchIngestor(pool),
                prefetch=settings.ingest_batch_size * 2,
                max_batch=settings.ingest_batch_size,
                drain_timeout_s=settings.shutdown_grace_s,
                backoff=settings.server_backoff,
            )
        )
        health.ready = True
        log.info(
            "status_writer_ready",
            http_port=settings.http_port,
            flush_interval_s=settings.flush_interval_seconds,
        )
        await stop.wait()
        health.ready = False  # stop advertising before the drain starts
        # the flush winds down while the consumer drains: no order is started after SIGTERM, and
        # both drains share one grace period (the pod's termination grace is sized for one)
        flush_loop.stop()
