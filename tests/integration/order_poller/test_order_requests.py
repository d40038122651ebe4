"""Orders requested by status webhooks: one GET per order under the store's lease, no window re-read."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

import asyncpg
from aio_pika.abc import AbstractQueue
from auth_gateway.db.order_requests import request_order_download
from bigcommerce_sandbox.builders import LineSpec
from bigcommerce_sandbox.faults import Fault
from common.bigcommerce.models import Order
from common.outbox import OutboxRelay
from order_poller.db.notifications import listen_for_download_requests
from order_poller.db.schedule import ClaimedChannel

from tests.support.order_poller import Rig, downloaded_ids, received_events
from tests.support.waiting import eventually


async def request(
    pool: asyncpg.Pool, channel_id: uuid.UUID, order_id: int, new_status_id: int = 9, *, moved: bool = False
) -> bool:
    """What the gateway does for a status webhook, in its own transaction."""
    async with pool.acquire() as conn, conn.transaction():
        return await request_order_download(
            conn, channel_id, order_id, new_status_id, downloaded_order_moved=moved
        )


async def not_window_due(rig: Rig, **channel: object) -> tuple[str, uuid.UUID]:
    """A channel polled a moment ago: its next scheduled read of the window is minutes away."""
    return await rig.new_channel(
        weight_units="Grams", next_download_at=rig.time.now() + timedelta(seconds=600), **channel
    )


def order_calls(rig: Rig, store_hash: str) -> list[str]:
    return [r for r in rig.api_requests(store_hash) if "/v2/orders" in r]


async def test_a_requested_order_is_fetched_alone_and_published_as_the_window_would(
    rig: Rig, pool: asyncpg.Pool, relay: tuple[OutboxRelay, AbstractQueue]
) -> None:
    outbox, probe = relay
    store_hash, channel_id = await not_window_due(rig)
    order = rig.sandbox.add_order(store_hash, [LineSpec(name="Mug", quantity=2), LineSpec(name="Pan")])
    rig.sandbox.add_order(store_hash)  # not requested: left to the scheduled poll
    scheduled = await pool.fetchval("SELECT next_download_at FROM channels WHERE id = $1", channel_id)
    assert await request(pool, channel_id, order.id)

    (result,) = await rig.poller().run_once()

    assert (result.outcome, result.report.downloaded) == ("ok", 1)
    # one GET of the order, with the listing's include; no listing at all
    [call] = rig.sandbox.requests(store_hash)
    assert (call.method, call.path) == ("GET", f"/stores/{store_hash}/v2/orders/{order.id}")
    assert "include=consignments.line_items" in call.query
    assert "consignment_structure=object" in call.query
    row = await pool.fetchrow(
        "SELECT next_download_at, orders_requested_at, last_download_at FROM channels WHERE id = $1",
        channel_id,
    )
    assert row is not None
    # the schedule is untouched: the window is read when it was due anyway
    assert (row["next_download_at"], row["orders_requested_at"], row["last_download_at"]) == (
        scheduled,
        None,
        None,
    )
    assert await pool.fetchval("SELECT count(*) FROM order_download_requests") == 0
    assert await outbox.run_once() == 1
    (targeted,) = await received_events(probe, 1)

    # the same order downloaded by the window's listing makes the same event
    await pool.execute("DELETE FROM downloaded_orders")
    await pool.execute("DELETE FROM outbox")
    await pool.execute("UPDATE channels SET next_download_at = NULL WHERE id = $1", channel_id)
    await rig.poller().run_once()
    assert await outbox.run_once() == 2
    [listed] = [e for e in await received_events(probe, 2) if e.order.order_id == order.id]
    assert json.loads(listed.to_json())["order"] == json.loads(targeted.to_json())["order"]
    assert listed.event_id == targeted.event_id


async def test_a_burst_of_requests_costs_one_fetch_per_distinct_order(rig: Rig, pool: asyncpg.Pool) -> None:
    store_hash, channel_id = await not_window_due(rig)
    orders = [rig.sandbox.add_order(store_hash) for _ in range(10)]
    written = [await request(pool, channel_id, orders[index % 10].id) for index in range(50)]
    assert written == [True] * 10 + [False] * 40  # an order waiting already gets nothing new

    results = await rig.poller().run_once()

    assert [r.outcome for r in results] == ["ok"]
    assert sorted(order_calls(rig, store_hash)) == sorted(
        f"GET /stores/{store_hash}/v2/orders/{o.id}" for o in orders
    )
    assert await downloaded_ids(pool, store_hash) == {o.id for o in orders}
    rig.sandbox.clear_requests(store_hash)
    assert await rig.poller().run_once() == []  # nothing left: not claimed again
    # deliveries after the download: nothing to fetch
    assert not any([await request(pool, channel_id, o.id) for o in orders])
    assert rig.sandbox.requests(store_hash) == []


async def test_requests_for_other_statuses_or_inactive_channels_are_not_written(
    rig: Rig, pool: asyncpg.Pool
) -> None:
    store_hash, channel_id = await not_window_due(rig, order_status_ids=(9, 11))
    order = rig.sandbox.add_order(store_hash)
    assert not await request(pool, channel_id, order.id, new_status_id=2)  # Shipped: the write-back's move
    assert not await request(pool, channel_id, order.id, new_status_id=10)
    assert await request(pool, channel_id, order.id, new_status_id=11)
    await pool.execute("DELETE FROM order_download_requests")
    await pool.execute("UPDATE channels SET status = 'disconnected', orders_requested_at = NULL")
    assert not await request(pool, channel_id, order.id)
    assert await pool.fetchval("SELECT count(*) FROM order_download_requests") == 0

    assert await rig.poller().run_once() == []
    assert rig.sandbox.requests(store_hash) == []


async def test_an_order_that_left_the_statuses_or_is_known_is_not_downloaded_again(
    rig: Rig, pool: asyncpg.Pool
) -> None:
    handed: list[tuple[ClaimedChannel, Order]] = []

    async def on_known_order(channel: ClaimedChannel, order: Order) -> None:
        handed.append((channel, order))

    store_hash, channel_id = await not_window_due(rig)
    known = rig.sandbox.add_order(store_hash)
    await pool.execute("UPDATE channels SET next_download_at = NULL WHERE id = $1", channel_id)
    await rig.poller().run_once()  # the window downloads it
    assert await downloaded_ids(pool, store_hash) == {known.id}
    moved_on = rig.sandbox.add_order(store_hash)
    moved_on.status_id = 2  # shipped by hand before the poller came
    gone_id = 999
    known.customer_message = "changed since"
    assert not await request(pool, channel_id, known.id)  # downloaded: a move into 9 is no news
    assert not await request(pool, channel_id, known.id, 9, moved=True)  # remembered in 9: no news either
    for order_id in (moved_on.id, gone_id):
        assert await request(pool, channel_id, order_id)
    assert await request(pool, channel_id, known.id, 5, moved=True)  # as the gateway asks for OrderChanged
    rig.sandbox.clear_requests(store_hash)

    (result,) = await rig.poller(on_known_order=on_known_order).run_once()

    assert result.outcome == "ok"
    assert sorted(order_calls(rig, store_hash)) == sorted(
        f"GET /stores/{store_hash}/v2/orders/{order_id}" for order_id in (moved_on.id, known.id, gone_id)
    )
    assert await downloaded_ids(pool, store_hash) == {known.id}
    # the known order, as it is now, goes to the seam OrderChanged fills
    [(channel, order)] = handed
    assert (channel.id, order.id, order.customer_message) == (channel_id, known.id, "changed since")
    assert await pool.fetchval("SELECT count(*) FROM order_download_requests") == 0


async def test_a_notify_wakes_the_idle_poller_and_the_order_is_downloaded(
    rig: Rig, pool: asyncpg.Pool, database_url: str
) -> None:
    store_hash, channel_id = await not_window_due(rig)
    order = rig.sandbox.add_order(store_hash)
    # nothing else would make it look at the schedule for an hour
    poller = rig.poller(idle_max_s=3600)
    idle = asyncio.Event()
    look = poller._idle_delay

    async def idle_delay() -> float:
        delay = await look()
        idle.set()  # the loop has looked at the schedule and is about to wait `delay` (600 s)
        return delay

    poller._idle_delay = idle_delay  # type: ignore[method-assign]
    stop = asyncio.Event()
    async with listen_for_download_requests(database_url, poller.wake):
        loop = asyncio.create_task(poller.run(stop, grace_s=1))
        try:
            await asyncio.wait_for(idle.wait(), timeout=10)
            assert await request(pool, channel_id, order.id)

            async def downloaded() -> bool:
                return order.id in await downloaded_ids(pool, store_hash)

            assert await eventually(downloaded)
        finally:
            stop.set()
            await loop
    assert order_calls(rig, store_hash) == [f"GET /stores/{store_hash}/v2/orders/{order.id}"]


async def test_a_failed_fetch_keeps_the_request_for_the_next_scheduled_poll(
    rig: Rig, pool: asyncpg.Pool
) -> None:
    store_hash, channel_id = await not_window_due(rig)
    order = rig.sandbox.add_order(store_hash)
    rig.sandbox.faults(store_hash).add(Fault("status", status=503, path_pattern=f"/orders/{order.id}$"))
    assert await request(pool, channel_id, order.id)

    (result,) = await rig.poller().run_once()

    assert result.outcome == "failed"
    row = await pool.fetchrow(
        "SELECT next_download_at, orders_requested_at FROM channels WHERE id = $1", channel_id
    )
    assert row is not None
    # not hammered while BigCommerce fails: served again with the next scheduled read of the window
    assert row["orders_requested_at"] > rig.time.now() + timedelta(seconds=599)
    assert await pool.fetchval("SELECT count(*) FROM order_download_requests") == 1
    rig.sandbox.faults(store_hash).clear()
    rig.time.advance(901)
    await rig.poller().run_once()
    assert await downloaded_ids(pool, store_hash) == {order.id}
    assert await pool.fetchval("SELECT count(*) FROM order_download_requests") == 0
