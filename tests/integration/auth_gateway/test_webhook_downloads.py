"""From BigCommerce's status webhook through the real gateway to the poller's OrderDownloaded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import asyncpg
from aio_pika.abc import AbstractRobustConnection
from auth_gateway.webhook_registration import WEBHOOK_HEADER
from common.amqp import Topology
from common.bigcommerce.client import BigCommerceClient
from order_poller.db.notifications import listen_for_download_requests
from order_poller.poller import Poller

from tests.support.auth_gateway import GatewayRig
from tests.support.order_poller import FAST_CONFIG, downloaded_ids, received_events, relay_to_probe
from tests.support.waiting import eventually


@asynccontextmanager
async def idle_poller(rig: GatewayRig, database_url: str) -> AsyncIterator[Poller]:
    """The poll loop running on the database's clock, woken by NOTIFY only: it is waiting for an hour
    (the next scheduled poll is minutes away) when the test goes on."""
    async with aiohttp.ClientSession() as session:
        poller = Poller(
            rig.pool,
            BigCommerceClient(session, rig.sandbox.api_url),
            rig.gateway.cipher,
            FAST_CONFIG.__class__(**{**FAST_CONFIG.__dict__, "idle_max_s": 3600.0}),
        )
        idle = asyncio.Event()
        look = poller._idle_delay

        async def idle_delay() -> float:
            delay = await look()
            idle.set()
            return delay

        poller._idle_delay = idle_delay  # type: ignore[method-assign]
        stop = asyncio.Event()
        async with listen_for_download_requests(database_url, poller.wake):
            loop = asyncio.create_task(poller.run(stop, grace_s=1))
            try:
                await asyncio.wait_for(idle.wait(), timeout=10)
                yield poller
            finally:
                stop.set()
                await loop


async def test_a_status_webhook_downloads_its_order_within_the_pollers_wake(
    rig: GatewayRig,
    pool: asyncpg.Pool,
    database_url: str,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    # polled a moment ago: only a webhook can make the poller look at this store now
    await pool.execute(
        "UPDATE channels SET next_download_at = now() + interval '10 minutes', weight_units = 'Grams'"
        " WHERE id = $1",
        channel_id,
    )
    orders = [rig.sandbox.add_order(store.hash, status_id=11) for _ in range(5)]
    quiet = rig.sandbox.add_order(store.hash, status_id=11)
    rig.sandbox.clear_requests(store.hash)

    async with (
        relay_to_probe(pool, amqp_connection, topology) as (outbox, probe),
        idle_poller(rig, database_url),
    ):
        # the merchant moves five orders to Awaiting Shipment and one to Completed; BigCommerce
        # delivers each move, and repeats every delivery of the five nine more times (50 in all)
        deliveries = []
        for order in orders:
            deliveries += await rig.sandbox.emit_order_status_updated(store.hash, order.id, 9)
        deliveries += await rig.sandbox.emit_order_status_updated(store.hash, quiet.id, 10)
        assert [d.status for d in deliveries] == [200] * 6
        async with aiohttp.ClientSession() as http:
            for delivery in deliveries[:5]:
                for repeat in range(9):
                    body = {**delivery.payload, "hash": f"{delivery.payload['hash']}-{repeat}"}
                    headers = {WEBHOOK_HEADER: delivery.headers[WEBHOOK_HEADER]}
                    async with http.post(
                        rig.settings.webhook_destination, json=body, headers=headers
                    ) as answer:
                        assert answer.status == 200

        async def all_downloaded() -> bool:
            await outbox.run_once()
            return await downloaded_ids(pool, store.hash) == {o.id for o in orders}

        assert await eventually(all_downloaded)
        events = await received_events(probe, 5)

    assert sorted(e.order.order_id for e in events) == sorted(o.id for o in orders)
    calls = [f"{r.method} {r.path}" for r in rig.sandbox.requests(store.hash)]
    order_calls = [c for c in calls if "/v2/orders" in c]
    # at most one fetch per order, the Completed one not at all, and never the window's listing
    assert len(order_calls) == len(set(order_calls))
    assert set(order_calls) <= {f"GET /stores/{store.hash}/v2/orders/{o.id}" for o in orders}
    assert f"GET /stores/{store.hash}/v2/orders" not in calls
