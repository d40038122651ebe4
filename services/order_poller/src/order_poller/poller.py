"""The poll loop: claim due channels (leases shared by replicas), poll them with bounded concurrency."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

import structlog
from common.backoff import Backoff, BackoffFactory
from common.bigcommerce.client import BigCommerceClient, StoreApi
from common.bigcommerce.errors import (
    BigCommerceError,
    MissingScope,
    ReauthorizationRequired,
    Unavailable,
)
from common.crypto import TokenCipher, TokenDecryptionError
from common.db.channels import mark_reauthorization_required
from common.db.errors import SERVER_ERRORS
from common.events import utc_now
from common.leases import RowLease
from common.lifecycle import replica_id
from pydantic import ValidationError

from order_poller.change_scan import ChangeFinder
from order_poller.concurrency import PollConcurrency
from order_poller.db.order_requests import OrderRequest, forget_served_requests, waiting_order_requests
from order_poller.db.schedule import (
    ClaimedChannel,
    OrdersAgain,
    PolledChannelState,
    claim_due_channels,
    finish_poll,
    seconds_to_next_claimable,
)
from order_poller.download import KnownOrderHandler, PollReport, StoreDownloader
from order_poller.guard import ChannelGuard, ChannelStoppedError, poll_lease
from order_poller.metrics import POLL_CONCURRENCY_LIMIT, POLL_DURATION, POLLS, POLLS_IN_FLIGHT

if TYPE_CHECKING:
    import asyncpg

log = structlog.get_logger(__name__)

HostClock = Callable[[], datetime]
PollOutcome = Literal["ok", "failed", "reauthorization_required", "permissions_missing", "stopped"]

PERMISSIONS_MISSING = (
    "permissions missing: BigCommerce refused the app's scopes (403); "
    "reopen the app in the BigCommerce control panel to re-approve them"
)


@dataclass(frozen=True)
class PollerConfig:
    """Schedule and limits of the poller (built from `PollerSettings` in production)."""

    interval_min_s: float = 600.0
    interval_max_s: float = 900.0
    max_age_days: int = 7
    # stores polled at once: `concurrency` before poll times are measured and never fewer, at most
    # `concurrency_max` (sized in `run()` by `PollConcurrency`; one round of `poll_due_channels`
    # takes `concurrency`)
    concurrency: int = 8
    concurrency_max: int = 256
    lease_s: float = 60.0
    # orders of one store fetched at once (the client paces the store's quota)
    order_concurrency: int = 4
    # one order's requests, retries and waits; at most half the lease
    order_budget_s: float = 30.0
    # how often a running poll re-reads its channel's status and token
    recheck_interval_s: float = 1.0
    # longest idle wait between looks at the schedule (a missed NOTIFY costs at most this)
    idle_max_s: float = 5.0
    # caught up, the loop claims at most this often (a NOTIFY claims at once): each claim then takes
    # the stores fallen due meanwhile together, and the loop's own queries stay a small part of a poll
    claim_interval_s: float = 0.25
    # requested orders (webhooks) served per poll of a store; more are served by the next claim
    order_requests_per_poll: int = 250

    def __post_init__(self) -> None:
        if not 0 < self.interval_min_s <= self.interval_max_s:
            raise ValueError("need 0 < interval_min_s <= interval_max_s")
        if not 0 < self.order_budget_s <= self.lease_s / 2:
            raise ValueError("need 0 < order_budget_s <= lease_s / 2")
        if not 1 <= self.concurrency <= self.concurrency_max:
            raise ValueError("need 1 <= concurrency <= concurrency_max")
        if self.claim_interval_s < 0:
            raise ValueError("need claim_interval_s >= 0")
        if self.order_requests_per_poll < 1:
            raise ValueError("need order_requests_per_poll >= 1")


@dataclass(frozen=True)
class PollResult:
    """The outcome of one store poll."""

    channel_id: uuid.UUID
    store_hash: str
    outcome: PollOutcome
    report: PollReport
    error: str | None = None


class Poller:
    """Claims due channels and polls them; `poll_due_channels()` is one round, `run()` the service loop."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        client: BigCommerceClient,
        cipher: TokenCipher,
        config: PollerConfig,
        *,
        owner: str | None = None,
        clock: HostClock | None = None,
        rng: random.Random | None = None,
        on_downloaded: Callable[[], None] = lambda: None,
        on_known_order: KnownOrderHandler | None = None,
        backoff: BackoffFactory = Backoff,
    ) -> None:
        self._pool = pool
        self._client = client
        self._cipher = cipher
        self.config = config
        self.owner = owner or replica_id()
        # The schedule (due times, leases) runs on the database's clock, since request_download
        # sets due times with PostgreSQL's now(): a host clock behind it would delay requested polls.
        # Tests drive `clock` instead. The host clock only stamps events and the order window.
        self._schedule_clock = clock
        self._clock = clock or utc_now
        self._rng = rng or random.Random()
        self._on_downloaded = on_downloaded
        # None: a requested order already downloaded is judged for OrderChanged (tests may watch instead)
        self._on_known_order = on_known_order
        self._backoff = backoff
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def wake(self) -> None:
        """Look at the schedule now (a download was requested)."""
        self._wake.set()

    def next_interval_s(self) -> float:
        """A uniform random interval to the next poll: thousands of stores spread over it."""
        return self._rng.uniform(self.config.interval_min_s, self.config.interval_max_s)

    async def poll_due_channels(self, limit: int | None = None) -> list[PollResult]:
        """One round: claim up to `limit` (default: concurrency) due channels and poll them all."""
        taken_at = time.monotonic()
        claimed = await self._claim(self.config.concurrency if limit is None else limit)
        return list(
            await asyncio.gather(*(self.poll_channel(channel, taken_at=taken_at) for channel in claimed))
        )

    async def run_once(self) -> list[PollResult]:
        """Rounds until nothing is due any more; every result, in order (tests drive this)."""
        results: list[PollResult] = []
        while True:
            batch = await self.poll_due_channels()
            if not batch:
                return results
            results.extend(batch)

    async def _claim(self, limit: int) -> list[ClaimedChannel]:
        if limit <= 0:
            return []
        # one statement: without a driven clock the database's now() decides due times and leases
        now = self._schedule_clock() if self._schedule_clock is not None else None
        lease_until = None if now is None else now + timedelta(seconds=self.config.lease_s)
        return await claim_due_channels(
            self._pool,
            owner=self.owner,
            now=now,
            lease_until=lease_until,
            limit=limit,
            lease_s=self.config.lease_s,
        )

    async def poll_channel(self, channel: ClaimedChannel, *, taken_at: float | None = None) -> PollResult:
        """Poll one claimed channel and release its lease, whatever happens.

        `taken_at`: `time.monotonic()` from before the claim's statement (None: now), where the
        lease's local deadline counts from.
        """
        started = self._clock()
        log.info("store_poll_started", store_hash=channel.store_hash, channel_id=str(channel.id))
        lease = poll_lease(
            self._pool,
            channel,
            owner=self.owner,
            lease_s=self.config.lease_s,
            clock=self._schedule_clock,
            taken_at=taken_at,
            backoff=self._backoff,
        )
        with POLL_DURATION.time():
            try:
                result = await self._poll(channel, lease)
            except asyncio.CancelledError:
                # abandoned at shutdown: hand the store back at once, still due
                with contextlib.suppress(*SERVER_ERRORS):
                    await asyncio.shield(lease.release_once())
                POLLS.labels(outcome="stopped").inc()
                raise
            except SERVER_ERRORS as failure:
                # the database failed under the poll: the store stays due, its lease runs out, and
                # the next claim (of any replica) polls it again; what was downloaded is committed
                log.warning(
                    "store_poll_database_failed", store_hash=channel.store_hash, error=type(failure).__name__
                )
                with contextlib.suppress(*SERVER_ERRORS):
                    await lease.release_once()
                result = PollResult(
                    channel.id, channel.store_hash, "failed", PollReport(), type(failure).__name__
                )
            except Exception as failure:
                # a bug must not keep the store leased until the lease runs out, nor stop the loop
                log.exception("store_poll_crashed", store_hash=channel.store_hash)
                with contextlib.suppress(*SERVER_ERRORS):
                    await lease.release_once()
                result = PollResult(channel.id, channel.store_hash, "failed", PollReport(), repr(failure))
        POLLS.labels(outcome=result.outcome).inc()
        log.info(
            "store_poll_finished",
            store_hash=channel.store_hash,
            outcome=result.outcome,
            listed=result.report.listed,
            downloaded=result.report.downloaded,
            skipped=result.report.skipped,
            error=result.error,
            seconds=round((self._clock() - started).total_seconds(), 3),
        )
        return result

    async def _poll(self, channel: ClaimedChannel, lease: RowLease[PolledChannelState]) -> PollResult:
        guard = ChannelGuard(
            lease,
            channel.grant_generation,
            stopping=self._stopping,
            recheck_interval_s=self.config.recheck_interval_s,
            # the claim has just read status and grant and set the lease: it is the first check
            checked_now=True,
        )
        report = PollReport(weight_units=channel.weight_units)
        outcome: PollOutcome = "ok"
        error: str | None = None
        requests: list[OrderRequest] = []
        if channel.orders_requested_at is not None:
            requests = await waiting_order_requests(
                self._pool, channel.id, self.config.order_requests_per_poll
            )
        served = False
        try:
            token = self._cipher.decrypt(channel.access_token_encrypted)

            def store_api(plan: str | None) -> StoreApi:
                return self._client.store(channel.store_hash, token, plan=plan)

            # changes to downloaded orders: a requested order already downloaded is judged at once,
            # and the scheduled poll lists what was modified since its last scan
            changes = ChangeFinder(
                self._pool,
                store_api(channel.plan_name),
                channel,
                guard,
                clock=self._clock,
                max_age=timedelta(days=self.config.max_age_days),
                weight_units=lambda: report.weight_units,
                on_announced=self._on_downloaded,
            )
            downloader = StoreDownloader(
                self._pool,
                store_api,
                channel,
                guard,
                clock=self._clock,
                max_age=timedelta(days=self.config.max_age_days),
                order_concurrency=self.config.order_concurrency,
                on_downloaded=self._on_downloaded,
                order_budget_s=self.config.order_budget_s,
                on_known_order=self._on_known_order or changes.on_known_order,
            )
            report = downloader.report
            # requested orders first: one GET each, and the window's listing then knows them
            await downloader.download_requested([r.order_id for r in requests])
            await forget_served_requests(self._pool, channel.id, requests)
            served = True
            if channel.window_due:
                await downloader.run()
                await changes.scan()
            if not report.weight_unit_supported:
                error = (
                    f"store weight unit {report.weight_units!r} is not supported "
                    "(Grams, Kilograms, Ounces or Pounds): orders are skipped until it is changed"
                )
            elif not report.weight_unit_known:
                error = "the store reports no weight unit: orders are downloaded with weight_grams 0"
        except ChannelStoppedError as stopped:
            log.info("store_poll_stopped", store_hash=channel.store_hash, reason=str(stopped))
            await lease.release_once()
            return PollResult(channel.id, channel.store_hash, "stopped", report, str(stopped))
        except ReauthorizationRequired:
            # no further request with this token until the app is installed again
            await mark_reauthorization_required(self._pool, channel.id, channel.grant_generation)
            await self._finish(
                channel, next_in_s=None, downloaded=False, error=None, write_error=False, orders_again="again"
            )
            log.warning("store_reauthorization_required", store_hash=channel.store_hash)
            return PollResult(channel.id, channel.store_hash, "reauthorization_required", report)
        except MissingScope:
            outcome, error = "permissions_missing", PERMISSIONS_MISSING
        except Unavailable as failure:
            outcome, error = "failed", f"BigCommerce unavailable, retrying next poll: {failure}"
        except BigCommerceError as failure:
            outcome, error = "failed", f"BigCommerce error: {failure}"
        except ValidationError as failure:
            outcome, error = (
                "failed",
                f"BigCommerce sent malformed data: {failure.errors()[0]['msg']}",
            )
        except TokenDecryptionError as failure:
            outcome, error = "failed", str(failure)
        orders_again: OrdersAgain = "none"
        if not served and requests:
            orders_again = "next"  # after a failure: with the next scheduled poll, not in a loop
        elif len(requests) == self.config.order_requests_per_poll:
            orders_again = "again"  # more may wait: claimable again at once
        await self._finish(
            channel,
            next_in_s=self.next_interval_s(),
            downloaded=outcome == "ok" and channel.window_due,
            error=error,
            # a poll of requested orders alone clears no error (it did not read the window)
            write_error=channel.window_due or error is not None,
            window_read=channel.window_due,
            orders_again=orders_again,
        )
        return PollResult(channel.id, channel.store_hash, outcome, report, error)

    async def _finish(
        self,
        channel: ClaimedChannel,
        *,
        next_in_s: float | None,
        downloaded: bool,
        error: str | None,
        write_error: bool = True,
        window_read: bool = True,
        orders_again: OrdersAgain = "none",
    ) -> None:
        kept = await finish_poll(
            self._pool,
            channel,
            owner=self.owner,
            next_in_s=next_in_s,
            downloaded=downloaded,
            download_error=error,
            write_error=write_error,
            window_read=window_read,
            orders_again=orders_again,
            now=self._schedule_clock() if self._schedule_clock is not None else None,
        )
        if not kept:
            log.warning("store_poll_lease_lost", store_hash=channel.store_hash)

    async def run(self, stop: asyncio.Event, *, grace_s: float = 20.0) -> None:
        """Poll due channels until `stop`; then let running polls stop at their next check.

        Polls still running after `grace_s` are cancelled; either way their leases are released.
        """
        running: set[asyncio.Task[PollResult]] = set()
        backoff = self._backoff()
        sizing = PollConcurrency(initial=self.config.concurrency, ceiling=self.config.concurrency_max)
        clock = asyncio.get_running_loop().time
        caught_up_at: float | None = None  # when the last claim found fewer due stores than places
        woken = False
        try:
            while not stop.is_set():
                pause = (
                    0.0
                    if caught_up_at is None or woken
                    else caught_up_at + self.config.claim_interval_s - clock()
                )
                if pause > 0:
                    # caught up: claim in batches rather than after every poll's end
                    woken = await self._wait(running, stop, pause, on_poll_end=False)
                    if stop.is_set():
                        break
                free = self._in_flight_limit(sizing, len(running)) - len(running)
                try:
                    taken_at = time.monotonic()
                    claimed = await self._claim(free)
                    caught_up_at = clock() if len(claimed) < free else None
                    sizing.observe_claim(
                        clock(), len(claimed), max((c.lateness_s for c in claimed), default=0.0)
                    )
                    for channel in claimed:
                        running.add(asyncio.create_task(self._measured_poll(channel, sizing, taken_at)))
                    POLLS_IN_FLIGHT.set(len(running))
                    if len(claimed) >= free:
                        delay = None  # every place taken: a poll's end (or a wake) looks again
                    elif not claimed:
                        delay = await self._idle_delay()
                    else:
                        delay = self.config.idle_max_s  # nothing more due now; a poll's end looks again
                    backoff.reset()
                except SERVER_ERRORS as failure:
                    # a failover or cut connections: wait it out, the schedule is in the database
                    delay = backoff.next_delay()
                    caught_up_at = None
                    log.warning(
                        "poll_schedule_waiting_for_server",
                        error=type(failure).__name__,
                        attempt=backoff.attempt,
                        retry_in_s=round(delay, 3),
                    )
                woken = await self._wait(running, stop, delay)
                POLLS_IN_FLIGHT.set(len(running))
        finally:
            await self._drain(running, grace_s)

    def _in_flight_limit(self, sizing: PollConcurrency, running: int) -> int:
        """Stores to have in flight: sized from poll times and lateness, held while the database
        pool has no connection to spare (more polls would only queue for one)."""
        limit = sizing.limit(asyncio.get_running_loop().time())
        pool_busy = self._pool.get_idle_size() == 0 and self._pool.get_size() >= self._pool.get_max_size()
        if pool_busy:
            limit = min(limit, max(running, self.config.concurrency))
        POLL_CONCURRENCY_LIMIT.set(limit)
        return limit

    async def _measured_poll(
        self, channel: ClaimedChannel, sizing: PollConcurrency, taken_at: float
    ) -> PollResult:
        started = asyncio.get_running_loop().time()
        result = await self.poll_channel(channel, taken_at=taken_at)
        if result.outcome != "stopped":  # a poll cut short says nothing of how long one takes
            sizing.observe_poll(asyncio.get_running_loop().time() - started)
        return result

    async def _idle_delay(self) -> float:
        now = self._schedule_clock() if self._schedule_clock is not None else None
        seconds = await seconds_to_next_claimable(self._pool, now)
        if seconds is None:
            return self.config.idle_max_s
        return min(self.config.idle_max_s, max(0.05, seconds))

    async def _wait(
        self,
        running: set[asyncio.Task[PollResult]],
        stop: asyncio.Event,
        delay: float | None,
        *,
        on_poll_end: bool = True,
    ) -> bool:
        """Wait `delay` (None: no limit), a wake, `stop`, or (`on_poll_end`) a poll's end; reap the
        polls that ended. True when woken (a download was requested)."""
        waiters = {asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())}
        try:
            watched = {*running, *waiters} if on_poll_end else waiters
            await asyncio.wait(watched, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        woken = self._wake.is_set()
        self._wake.clear()
        for task in [t for t in running if t.done()]:
            running.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.error("store_poll_crashed", error=repr(task.exception()))
        return woken

    async def _drain(self, running: set[asyncio.Task[PollResult]], grace_s: float) -> None:
        self._stopping.set()  # every guard refuses the next request: polls end at their next check
        if not running:
            return
        _, pending = await asyncio.wait(running, timeout=grace_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        log.info("poller_drained", polls=len(running), cancelled=len(pending))
