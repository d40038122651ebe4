"""Capacity: stores per poller replica and the database's cost per poll; despatches per second of a writer.

How it is measured (`--stores N`, default 1,000 stores served by the sandbox):
- The `channels` table is filled to 100,000 active channels: N real stores plus idle ones that are not
  due while the stage runs, so the poller's queries meet a production-sized table.
- The poller runs as its own process with production settings except its interval (0.01 s), so the
  N stores are always due: it polls as fast as it can (saturated). Polls per second measured over a
  period x 750 s (the mean of the 600-900 s schedule) = the stores one replica keeps on schedule.
- The database's cost is measured on the 100,000-store schedule scaled to the N stores (an interval
  of 600-900 s x N / 100,000): the poller then polls 133.3 times a second, as it would for 100,000
  stores, against a table of 100,000 channels, idling between polls as it does in production.
  Over the period: PostgreSQL transactions of the stage's database (`pg_stat_database`), CPU of
  its backends and of the poller process (`/proc/<pid>/stat`), per 1,000 polls; database CPU at
  100,000 stores = CPU per poll x 133.3 polls/s. A replica that cannot keep that schedule polls
  less often: its polls per second say so.
- Then the real status writer (its service, production settings, in this process beside the
  sandbox) flushes one despatch for each of the N stores, with its interval scaled like the poller's
  (30 minutes x N / 100,000, at least 5 s): it sizes its stores in flight to finish within 80 % of
  the interval, as for 100,000 stores in 30 minutes. Despatches per second (first to last request)
  give the replicas that write one despatch per store for 100,000 stores in 30 minutes.
- All again with the sandbox answering every request after 200 ms (its latency fault).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
from bigcommerce_sandbox.builders import LineSpec
from bigcommerce_sandbox.faults import Fault
from bigcommerce_sandbox.runner import run_sandbox
from bigcommerce_sandbox.sandbox import Sandbox
from common.crypto import TokenCipher, generate_key
from common.db.despatches import record_despatches
from common.db.pool import open_pool

from bench.harness import BenchEnv, Figure, Row
from bench.measure import (
    FLUSH_PERIOD_S,
    MEAN_POLL_INTERVAL_S,
    TARGET_STORES,
    polls_per_second,
    process_rss_kib,
    replicas_needed,
)
from bench.rig import (
    ServiceProcess,
    Store,
    add_idle_channels,
    connect_store,
    event_sink,
    new_despatch,
    poller_environment,
    run_status_writer,
    sample_database,
    wait_for_value,
)

ORDERS_PER_STORE = 3  # orders awaiting shipment in each store's window, downloaded before measuring
INTERVAL_S = 0.01
MEASURE_S = 45.0
SETTLE_S = 10.0  # after a restart at 200 ms, before measuring (concurrency adapts)
WARM_UP_TIMEOUT_S = 600.0
WRITER_TIMEOUT_S = 60.0
MIN_FLUSH_INTERVAL_S = 5.0
LATENCY_S = 0.2
DB_CPU_GOAL = 0.25  # of one core at 100,000 stores
TRANSACTIONS_GOAL = 3.0  # per idle poll
POLLS_METRIC = "order_poller_polls_total"
WRITTEN_ORDERS = "SELECT order_id FROM despatches WHERE store_hash = $1"  # orders already despatched


@dataclass(frozen=True)
class PollerRun:
    polls: float
    seconds: float
    transactions: int
    database_cpu_s: float
    poller_cpu_s: float
    rss_growth_kib: int

    @property
    def polls_per_s(self) -> float:
        return self.polls / self.seconds

    @property
    def stores_per_replica(self) -> float:
        return self.polls_per_s * MEAN_POLL_INTERVAL_S


async def run(env: BenchEnv) -> list[Row]:
    key = generate_key()
    cipher = TokenCipher([key])
    rows: list[Row] = []
    async with env.database() as dsn, run_sandbox() as sandbox:
        database = env.database_name(dsn)
        async with open_pool(dsn) as pool:
            stores = [await connect_store(pool, sandbox, cipher, f"cap{n}") for n in range(env.stores)]
            # placed an hour ago, as a store's orders mostly are: a scheduled poll's change scan then
            # lists nothing modified since its last look (what a typical idle poll sees)
            placed = sandbox.now() - timedelta(hours=1)
            for store in stores:
                for _ in range(ORDERS_PER_STORE):
                    sandbox.add_order(
                        store.hash,
                        [LineSpec(name="Mug", quantity=2), LineSpec(name="Pan")],
                        created=placed,
                        modified=placed,
                    )
            await add_idle_channels(pool, cipher, TARGET_STORES - len(stores))
            await pool.execute("ANALYZE channels")
        exchange = env.topology().exchange
        base = poller_environment(env, dsn, key, sandbox.api_url, exchange)
        # the 100,000-store schedule scaled to these stores: the same polls per second on the same table
        scaled = len(stores) / TARGET_STORES
        on_schedule = _interval(base, 600 * scaled, 900 * scaled)
        # due again at once after each poll: the replica polls as fast as it can
        saturated = _interval(base, INTERVAL_S, INTERVAL_S)
        admin = await asyncpg.connect(env.postgres_server)
        try:
            async with event_sink(env, exchange):
                runs = _PollerRuns(admin, database, dsn, len(stores))
                settle_s = max(SETTLE_S, 1.5 * 900 * scaled)  # due times spread over the interval
                scheduled = await runs.measure(on_schedule, warm_up=True, settle_s=settle_s)
                rows.append(_database_row(scheduled, len(stores), "0 ms, on schedule"))
                fastest = await runs.measure(saturated)
                rows.append(_capacity_row(fastest, len(stores), "at 0 ms"))
                rows += await _writer_rows(env, dsn, key, sandbox, stores, "at 0 ms")
                for store in stores:
                    sandbox.faults(store.hash).add(Fault("latency", delay_s=LATENCY_S))
                scheduled = await runs.measure(on_schedule, settle_s=settle_s)
                rows.append(_database_row(scheduled, len(stores), "200 ms, on schedule"))
                slow = await runs.measure(saturated)
                rows.append(_capacity_row(slow, len(stores), "at 200 ms"))
                rows += await _writer_rows(env, dsn, key, sandbox, stores, "at 200 ms")
        finally:
            await admin.close()
    return rows


def _interval(environment: dict[str, str], low_s: float, high_s: float) -> dict[str, str]:
    return {
        **environment,
        "POLL_INTERVAL_MIN_SECONDS": f"{low_s:g}",
        "POLL_INTERVAL_MAX_SECONDS": f"{high_s:g}",
    }


@dataclass(frozen=True)
class _PollerRuns:
    """Starts the poller process with some settings and measures it over `MEASURE_S`."""

    admin: asyncpg.Connection
    database: str
    dsn: str
    stores: int

    async def measure(
        self, environment: dict[str, str], *, warm_up: bool = False, settle_s: float = SETTLE_S
    ) -> PollerRun:
        async with (
            open_pool(self.dsn, max_size=2) as pool,
            ServiceProcess("order_poller", environment) as poller,
        ):
            if warm_up:
                # every store polled once and its orders downloaded: what follows are idle polls
                done = f"SELECT count(*) >= {self.stores * ORDERS_PER_STORE} FROM downloaded_orders"
                await wait_for_value(pool, done, WARM_UP_TIMEOUT_S)
            await asyncio.sleep(settle_s)  # measured from a running loop, not from its start
            polls0, rss0 = await poller.counter(POLLS_METRIC), process_rss_kib(poller.pid)
            cpu0, db0 = poller.cpu_seconds(), await sample_database(self.admin, self.database)
            started = time.perf_counter()
            await asyncio.sleep(MEASURE_S)  # the measured period: the poller works, we only watch
            polls1 = await poller.counter(POLLS_METRIC)
            cpu1, db1 = poller.cpu_seconds(), await sample_database(self.admin, self.database)
            ended = time.perf_counter()
            rss1 = process_rss_kib(poller.pid)
        return PollerRun(
            polls=polls1 - polls0,
            seconds=ended - started,
            transactions=db1.transactions - db0.transactions,
            database_cpu_s=db1.cpu_since(db0),
            poller_cpu_s=cpu1 - cpu0,
            rss_growth_kib=rss1 - rss0,
        )


def _capacity_row(measured: PollerRun, stores: int, label: str) -> Row:
    name = f"poller stores per replica, BigCommerce {label}"
    if measured.polls <= 0:
        return Figure(name, "no polls", note="the poller did not poll")
    return Figure(
        name,
        f"{measured.stores_per_replica:,.0f}",
        goal=f"{TARGET_STORES:,} on 1 replica",
        met=measured.stores_per_replica >= TARGET_STORES,
        note=(
            f"{measured.polls_per_s:.1f} polls/s over {measured.seconds:.0f} s with {stores:,} stores always due "
            f"(100,000 channels in the table) x 750 s; "
            f"{replicas_needed(TARGET_STORES, measured.stores_per_replica)} replica(s) for 100,000 stores; "
            f"poller CPU {measured.poller_cpu_s / measured.polls * 1000:.1f} s per 1,000 polls, "
            f"RSS {measured.rss_growth_kib / 1024:+.1f} MiB over {measured.polls:,.0f} polls"
        ),
    )


def _database_row(measured: PollerRun, stores: int, label: str) -> Row:
    name = f"database CPU per 1,000 polls, {label}"
    if measured.polls <= 0:
        return Figure(name, "no polls", note="the poller did not poll")
    per_poll = measured.database_cpu_s / measured.polls
    needed = polls_per_second(TARGET_STORES)
    share = per_poll * needed
    transactions = measured.transactions / measured.polls
    return Figure(
        name,
        f"{per_poll * 1000:.2f} s",
        goal=f"<{DB_CPU_GOAL / needed * 1000:.2f} s",
        met=share < DB_CPU_GOAL and transactions <= TRANSACTIONS_GOAL,
        note=(
            f"the 100,000-store schedule scaled to {stores:,} stores: {measured.polls_per_s:.1f} polls/s "
            f"({needed:.1f} due); PostgreSQL backends' "
            f"CPU from /proc x {needed:.1f} polls/s = {share:.0%} of a core at 100,000 stores (goal < 25 %); "
            f"{transactions:.1f} transactions per poll (pg_stat_database, goal <= 3); "
            f"poller CPU {measured.poller_cpu_s / measured.polls * 1000:.1f} s per 1,000 polls"
        ),
    )


async def _writer_rows(
    env: BenchEnv, dsn: str, key: str, sandbox: Sandbox, stores: list[Store], label: str
) -> list[Row]:
    """One despatch per store (an order the poller downloaded), flushed by the writer service."""
    sandbox.clear_requests()  # the poller is stopped: every request from here on is the writer's
    async with open_pool(dsn, max_size=2) as pool:
        before = await pool.fetchval("SELECT count(*) FROM despatches WHERE state <> 'pending'")
        written_before = await pool.fetchval("SELECT count(*) FROM despatches WHERE state = 'written'")
        despatches = []
        for store in stores:
            written = {r["order_id"] for r in await pool.fetch(WRITTEN_ORDERS, store.hash)}
            order_id = next(o.id for o in sandbox.store(store.hash).orders.values() if o.id not in written)
            despatches.append(new_despatch(store, order_id))
        async with pool.acquire() as conn:
            await record_despatches(conn, despatches)
        # the 30-minute flush of 100,000 stores scaled to these stores: the writer sizes the stores it
        # flushes at once to finish within 80 % of its interval, as it would for 100,000
        interval_s = max(MIN_FLUSH_INTERVAL_S, FLUSH_PERIOD_S * len(stores) / TARGET_STORES)
        async with run_status_writer(env, dsn, key, sandbox.api_url, flush_interval_s=interval_s):
            done = f"SELECT count(*) >= {before + len(stores)} FROM despatches WHERE state <> 'pending'"
            with contextlib.suppress(RuntimeError):  # a slow flush is measured as far as it got
                await wait_for_value(pool, done, WRITER_TIMEOUT_S)
        finished = await pool.fetchval("SELECT count(*) FROM despatches WHERE state = 'written'")
    times = [r.at for store in stores for r in sandbox.requests(store.hash)]
    requests = len(times)
    seconds = max(times) - min(times) if len(times) > 1 else 0.0
    written = finished - written_before
    if not written or seconds <= 0:
        return [Figure(f"writer despatches/s per replica, BigCommerce {label}", "none written")]
    rate = written / seconds
    replicas = replicas_needed(TARGET_STORES, rate * FLUSH_PERIOD_S)
    return [
        Figure(
            f"writer despatches/s per replica, BigCommerce {label}",
            f"{rate:,.1f}",
            goal=f"{TARGET_STORES / FLUSH_PERIOD_S:.1f} (100,000/30 min)",
            met=replicas == 1,
            note=(
                f"{written:,} stores x 1 despatch in {seconds:.1f} s (flush interval {interval_s:.0f} s), "
                f"{requests / written:.2f} requests each; "
                f"{replicas} writer replica(s) flush 100,000 stores' despatches in 30 minutes"
            ),
        )
    ]
