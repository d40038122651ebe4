"""Scheduling: due and not due, jitter, download requests, leases between replicas, graceful stop."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

import asyncpg
import pytest
from bigcommerce_sandbox.faults import Fault
from common.db.channels import get_channel, request_download
from order_poller.db.notifications import listen_for_download_requests
from order_poller.db.schedule import claim_due_channels

from tests.support.order_poller import Rig, downloaded_ids


async def eventually(condition, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """Poll an async condition with a deadline (no fixed sleeps)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail("condition not met in time")
        await asyncio.sleep(0.02)


async def test_only_due_active_channels_are_polled(rig: Rig, pool: asyncpg.Pool) -> None:
    now = rig.time.now()
    never_polled, _ = await rig.new_channel()
    overdue, _ = await rig.new_channel(next_download_at=now - timedelta(seconds=1))
    not_yet, _ = await rig.new_channel(next_download_at=now + timedelta(seconds=30))
    pending, _ = await rig.new_channel(status="pending")
    disconnected, _ = await rig.new_channel(status="disconnected")
    reauth, _ = await rig.new_channel(status="reauthorization_required")

    results = await rig.poller().run_once()

    assert sorted(r.store_hash for r in results) == sorted([never_polled, overdue])
    for idle in (not_yet, pending, disconnected, reauth):
        assert rig.sandbox.requests(idle) == []
    rig.time.advance(31)
    assert [r.store_hash for r in await rig.poller().run_once()] == [not_yet]


async def test_after_a_poll_the_next_one_is_due_within_the_random_interval(
    rig: Rig, pool: asyncpg.Pool
) -> None:
    channels = [await rig.new_channel() for _ in range(12)]
    polled_at = rig.time.now()

    await rig.poller().run_once()

    due_times = []
    for _, channel_id in channels:
        channel = await get_channel(pool, channel_id)
        assert channel is not None
        assert channel.next_download_at is not None
        assert channel.last_download_at == polled_at
        assert channel.last_download_error is None
        delay = (channel.next_download_at - polled_at).total_seconds()
        assert 600 <= delay <= 900
        due_times.append(delay)
    assert len(set(due_times)) == len(due_times)  # jittered, not in lockstep
    assert await rig.poller().run_once() == []
    rig.time.advance(599)
    assert await rig.poller().run_once() == []
    rig.time.advance(301)
    assert len(await rig.poller().run_once()) == 12


async def next_due_after(pool: asyncpg.Pool, channel_id: object, start: datetime) -> float:
    due = await pool.fetchval("SELECT next_download_at FROM channels WHERE id = $1", channel_id)
    return float((due - start).total_seconds())


async def test_the_next_poll_is_due_an_interval_after_this_polls_start_not_its_end(
    rig: Rig, pool: asyncpg.Pool
) -> None:
    quick, quick_id = await rig.new_channel()
    slow, slow_id = await rig.new_channel()
    poller = rig.poller(interval_min_s=10, interval_max_s=10, order_budget_s=5)
    claimed_at = rig.time.now()
    by_store = {
        c.store_hash: c
        for c in await claim_due_channels(
            pool, owner=poller.owner, now=claimed_at, lease_until=claimed_at + timedelta(seconds=60), limit=2
        )
    }

    rig.time.advance(4)  # the poll took 4 s
    await poller.poll_channel(by_store[quick])
    rig.time.advance(8)  # this one outlasted its interval
    await poller.poll_channel(by_store[slow])

    # polled once in every interval (CONTRACT §2) whatever a poll takes
    assert await next_due_after(pool, quick_id, claimed_at) == 10
    # and the sync health says when that poll began: the next one is due one interval after it
    last = await pool.fetchval("SELECT last_download_at FROM channels WHERE id = $1", quick_id)
    assert last == claimed_at
    # 12 s after its claim: due again at once, never in the past
    assert await next_due_after(pool, slow_id, claimed_at) == 12


async def test_request_download_makes_a_channel_due_at_once(rig: Rig, pool: asyncpg.Pool) -> None:
    store_hash, channel_id = await rig.new_channel()
    await rig.poller().run_once()
    assert await rig.poller().run_once() == []
    later = rig.sandbox.add_order(store_hash)

    assert await request_download(pool, channel_id)
    (result,) = await rig.poller().run_once()

    assert result.report.downloaded == 1
    assert later.id in await downloaded_ids(pool, store_hash)


async def test_a_request_during_a_poll_is_not_lost(rig: Rig, pool: asyncpg.Pool) -> None:
    store_hash, channel_id = await rig.new_channel()
    poller = rig.poller()
    (claimed,) = await claim_due_channels(
        pool,
        owner=poller.owner,
        now=rig.time.now(),
        lease_until=rig.time.now() + timedelta(minutes=5),
        limit=1,
    )
    # a webhook arrives while this poll runs: the order may be after the page already read
    assert await request_download(pool, channel_id)
    await poller.poll_channel(claimed)

    channel = await get_channel(pool, channel_id)
    assert channel is not None
    assert channel.next_download_at is not None
    assert channel.next_download_at <= rig.time.now()
    assert [r.store_hash for r in await rig.poller().run_once()] == [store_hash]


async def test_a_request_wakes_the_idle_loop_through_listen(
    rig: Rig, pool: asyncpg.Pool, database_url: str
) -> None:
    store_hash, channel_id = await rig.new_channel()
    # an hour of idle wait: only the NOTIFY can make the loop look again
    poller = rig.poller(idle_max_s=3600)
    stop = asyncio.Event()
    async with listen_for_download_requests(database_url, poller.wake):
        loop = asyncio.create_task(poller.run(stop, grace_s=5))
        try:
            await eventually(lambda: _polled(pool, channel_id))
            order = rig.sandbox.add_order(store_hash)
            assert await request_download(pool, channel_id)

            async def downloaded() -> bool:
                return order.id in await downloaded_ids(pool, store_hash)

            await eventually(downloaded)
        finally:
            stop.set()
            await loop


async def _polled(pool: asyncpg.Pool, channel_id: object) -> bool:
    return await pool.fetchval("SELECT last_download_at IS NOT NULL FROM channels WHERE id = $1", channel_id)


async def test_a_leased_channel_is_skipped_until_its_lease_expires(rig: Rig, pool: asyncpg.Pool) -> None:
    store_hash, channel_id = await rig.new_channel()
    order = rig.sandbox.add_order(store_hash)
    # a replica claims the store and dies without finishing or releasing it
    (dead,) = await claim_due_channels(
        pool,
        owner="dead-replica",
        now=rig.time.now(),
        lease_until=rig.time.now() + timedelta(seconds=60),
        limit=5,
    )
    assert dead.id == channel_id
    survivor = rig.poller(owner="survivor")

    assert await survivor.run_once() == []
    rig.time.advance(59)
    assert await survivor.run_once() == []
    rig.time.advance(1)
    (result,) = await survivor.run_once()

    assert result.outcome == "ok"
    assert await downloaded_ids(pool, store_hash) == {order.id}
    owner = await pool.fetchval("SELECT poll_lease_owner FROM channels WHERE id = $1", channel_id)
    assert owner is None


async def test_a_poll_whose_lease_was_taken_over_stops(rig: Rig, pool: asyncpg.Pool) -> None:
    store_hash, channel_id = await rig.new_channel()
    for _ in range(3):
        rig.sandbox.add_order(store_hash)
    slow = rig.poller(owner="slow")
    (claimed,) = await claim_due_channels(
        pool, owner="slow", now=rig.time.now(), lease_until=rig.time.now() + timedelta(seconds=60), limit=1
    )
    # the lease ran out and another replica took the store before the slow one started
    await pool.execute("UPDATE channels SET poll_lease_owner = 'fast' WHERE id = $1", channel_id)

    result = await slow.poll_channel(claimed)

    assert result.outcome == "stopped"
    assert rig.sandbox.requests(store_hash) == []
    owner = await pool.fetchval("SELECT poll_lease_owner FROM channels WHERE id = $1", channel_id)
    assert owner == "fast"  # the other replica's lease is left alone


async def test_concurrency_per_replica_is_bounded(rig: Rig, pool: asyncpg.Pool) -> None:
    for _ in range(7):
        await rig.new_channel()
    poller = rig.poller(concurrency=3)

    first_round = await poller.poll_due_channels()
    rest = await poller.run_once()

    assert len(first_round) == 3
    assert len(rest) == 4


async def test_stop_abandons_a_hanging_poll_and_releases_its_lease(rig: Rig, pool: asyncpg.Pool) -> None:
    store_hash, channel_id = await rig.new_channel(weight_units="Grams")
    rig.sandbox.add_order(store_hash)
    hang = rig.sandbox.faults(store_hash).add(Fault("timeout", path_pattern="/orders$", hang_s=60))
    poller = rig.poller()
    stop = asyncio.Event()
    loop = asyncio.create_task(poller.run(stop, grace_s=0.1))

    async def hanging() -> bool:
        return hang.fired > 0

    await eventually(hanging)
    stop.set()
    await loop

    row = await pool.fetchrow(
        "SELECT poll_lease_owner, next_download_at, last_download_at FROM channels WHERE id = $1", channel_id
    )
    assert row is not None
    assert row["poll_lease_owner"] is None
    # handed back still due: the next replica polls it at once
    assert row["next_download_at"] is None
    assert row["last_download_at"] is None
    rig.sandbox.faults(store_hash).clear()
    (result,) = await rig.poller().run_once()
    assert result.report.downloaded == 1


async def test_a_replica_frozen_past_its_lease_sends_nothing_when_it_wakes(
    rig: Rig, pool: asyncpg.Pool
) -> None:
    store_hash, channel_id = await rig.new_channel()
    rig.sandbox.add_order(store_hash)
    frozen = rig.poller(owner="frozen")
    (claimed,) = await claim_due_channels(
        pool, owner="frozen", now=rig.time.now(), lease_until=rig.time.now() + timedelta(seconds=60), limit=1
    )

    # claimed 61 s ago on this host's clock: another replica may hold the store by now
    result = await frozen.poll_channel(claimed, taken_at=time.monotonic() - 61)

    assert result.outcome == "stopped"
    assert rig.sandbox.requests(store_hash) == []
    owner = await pool.fetchval("SELECT poll_lease_owner FROM channels WHERE id = $1", channel_id)
    assert owner is None  # handed back, still due: the next claim polls it
