"""The share of a Standard store's rate limit a busy store's day spends on us, at its busiest 30 seconds.

A busy store: 1,000 orders a day, arriving over the day, each firing BigCommerce's webhooks to the
gateway; the poller on its 600-900 s schedule; at noon, the despatches of the morning's 500 orders
flushed by the writer. The real gateway, poller (own process) and writer run against the sandbox, whose
rate limiter counts the requests of each of the store's windows as BigCommerce does (a window opens
with the first request after the last one ended); the busiest window's count, divided by the
Standard quota (150), is the share.

Time runs ten times faster than a day: the sandbox's rate-limit window is 3 s (its headers say so,
and the connector's pacing reads the window from them), the poller's interval 60-90 s, an order
arrives every 8.64 s. The connector paces against whatever window the headers announce, so the
share of one window is what it would be at real speed. The stage covers the flush and the minutes
around it: outside the flush a window sees only polls and webhook downloads, which also run during it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import Counter

from bigcommerce_sandbox.builders import LineSpec
from bigcommerce_sandbox.clock import UnixClock
from bigcommerce_sandbox.ratelimit import RateDecision, RateLimiter
from bigcommerce_sandbox.runner import run_sandbox
from bigcommerce_sandbox.sandbox import Sandbox
from common.bigcommerce.statuses import AWAITING_SHIPMENT
from common.crypto import TokenCipher, generate_key
from common.db.despatches import record_despatches
from common.db.pool import open_pool

from bench.harness import BenchEnv, Figure, Row
from bench.measure import STANDARD_QUOTA, STANDARD_WINDOW_S, busiest_window, window_share
from bench.rig import (
    ServiceProcess,
    Store,
    connect_store,
    event_sink,
    new_despatch,
    poller_environment,
    run_gateway,
    run_status_writer,
    subscribe_gateway,
    wait_for_value,
)

SPEED_UP = 10.0
ORDERS_PER_DAY = 1000
MORNING_ORDERS = ORDERS_PER_DAY // 2  # midnight to noon, despatched in the noon flush
BEFORE_FLUSH_S = 60.0 / SPEED_UP * 10  # ten minutes of the day before the flush starts
AFTER_FLUSH_S = 60.0 / SPEED_UP * 5
WARM_UP_TIMEOUT_S = 300.0
FLUSH_TIMEOUT_S = 600.0
GOAL_SHARE = 0.70  # BIGCOMMERCE_QUOTA_SHARE's default: the rest is the merchant's other apps'


async def run(env: BenchEnv) -> list[Row]:
    window_s = STANDARD_WINDOW_S / SPEED_UP
    key = generate_key()
    cipher = TokenCipher([key])
    exchange = env.topology().exchange
    async with (
        env.database() as dsn,
        open_pool(dsn, max_size=2) as pool,
        run_sandbox(sandbox=counted_sandbox(window_s)) as sandbox,
        event_sink(env, exchange),
        run_gateway(env, dsn, key, exchange) as gateway_url,
    ):
        store = await connect_store(pool, sandbox, cipher, "busy", plan_name="Standard")
        morning = [
            sandbox.add_order(store.hash, [LineSpec(name="Mug", quantity=2), LineSpec(name="Pan")]).id
            for _ in range(MORNING_ORDERS)
        ]
        subscribe_gateway(sandbox, store, gateway_url)
        environment = {
            **poller_environment(env, dsn, key, sandbox.api_url, exchange),
            "POLL_INTERVAL_MIN_SECONDS": str(600 / SPEED_UP),
            "POLL_INTERVAL_MAX_SECONDS": str(900 / SPEED_UP),
        }
        async with ServiceProcess("order_poller", environment):
            # the morning's orders downloaded (their requests are not counted: a warm-up)
            done = f"SELECT count(*) >= {MORNING_ORDERS} FROM downloaded_orders"
            await wait_for_value(pool, done, WARM_UP_TIMEOUT_S)
            sandbox.clear_requests()
            day_started = sandbox.clock()
            arrivals = asyncio.create_task(_orders_arrive(sandbox, store))
            try:
                await asyncio.sleep(BEFORE_FLUSH_S)  # the day goes on before the flush
                flush_started = sandbox.clock()
                async with pool.acquire() as conn:
                    await record_despatches(conn, [new_despatch(store, order_id) for order_id in morning])
                async with run_status_writer(env, dsn, key, sandbox.api_url):
                    written = f"SELECT count(*) >= {MORNING_ORDERS} FROM despatches WHERE state <> 'pending'"
                    await wait_for_value(pool, written, FLUSH_TIMEOUT_S)
                flush_ended = sandbox.clock()
                await asyncio.sleep(AFTER_FLUSH_S)
            finally:
                arrivals.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await arrivals
        await sandbox.drain()
    assert isinstance(sandbox.rate_limiter, WindowLog)
    return _figures(sandbox.rate_limiter, store.hash, window_s, day_started, flush_started, flush_ended)


class WindowLog(RateLimiter):
    """The sandbox's rate limiter, keeping each request's window as it counted it (and refusals)."""

    def __init__(self, clock: UnixClock, window_s: float) -> None:
        super().__init__(clock, window_s)
        self.checks: dict[str, list[tuple[float, float, bool]]] = {}

    def check(self, store_hash: str, quota: int) -> RateDecision:
        decision = super().check(store_hash, quota)
        started_at = self._windows[store_hash].started_at
        self.checks.setdefault(store_hash, []).append((self._clock(), started_at, decision.allowed))
        return decision

    def served_per_window(self, store_hash: str, since: float, until: float = math.inf) -> list[int]:
        """Requests let through in each window that opened between `since` and `until`."""
        counts = Counter(
            started
            for at, started, allowed in self.checks.get(store_hash, [])
            if allowed and since <= at <= until
        )
        return list(counts.values())

    def refused(self, store_hash: str, since: float) -> int:
        return sum(1 for at, _, allowed in self.checks.get(store_hash, []) if not allowed and at >= since)


def counted_sandbox(window_s: float) -> Sandbox:
    sandbox = Sandbox(rate_limit_window_s=window_s)
    sandbox.rate_limiter = WindowLog(sandbox.clock, window_s)
    return sandbox


async def _orders_arrive(sandbox: Sandbox, store: Store) -> None:
    """A new order every 86,400 / 1,000 s (sped up), with the webhooks BigCommerce fires for it."""
    gap_s = 86_400 / ORDERS_PER_DAY / SPEED_UP
    while True:
        started = time.monotonic()
        order = sandbox.add_order(store.hash, [LineSpec(name="Mug")], status_id=0)
        await sandbox.emit(store.hash, "store/order/created", {"type": "order", "id": order.id})
        await sandbox.emit_order_status_updated(store.hash, order.id, AWAITING_SHIPMENT)
        await asyncio.sleep(max(0.0, gap_s - (time.monotonic() - started)))  # the store's arrival rate


def _figures(
    windows: WindowLog,
    store_hash: str,
    window_s: float,
    day_started: float,
    flush_started: float,
    flush_ended: float,
) -> list[Row]:
    busiest = max(windows.served_per_window(store_hash, day_started), default=0)
    quiet = max(
        windows.served_per_window(store_hash, day_started, flush_started)
        + windows.served_per_window(store_hash, flush_ended),
        default=0,
    )
    times = [at for at, _, allowed in windows.checks.get(store_hash, []) if allowed and at >= day_started]
    sliding, _ = busiest_window(times, window_s)
    share = window_share(busiest, STANDARD_QUOTA)
    refused = windows.refused(store_hash, day_started)
    flush_s = (flush_ended - flush_started) * SPEED_UP
    return [
        Figure(
            "busy store: busiest 30 s of a Standard store's quota",
            f"{busiest} req = {share:.0%}",
            goal=f"<= {GOAL_SHARE:.0%}",
            met=share <= GOAL_SHARE and not refused,
            note=(
                f"1,000 orders/day with webhooks, poller every 600-900 s, flush of {MORNING_ORDERS} despatches "
                f"({flush_s / 60:.1f} min of day time), {SPEED_UP:.0f}x accelerated; requests per window as the "
                f"sandbox's rate limiter counted them; {refused} refused (429); outside the flush "
                f"{window_share(quiet, STANDARD_QUOTA):.0%} ({quiet} req); any 30 s across two windows: {sliding} req"
            ),
        )
    ]
