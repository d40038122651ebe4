"""Two writer replicas: one frozen (SIGSTOP) past its lease while the other takes the store over."""

from __future__ import annotations

import signal

import asyncpg
import pytest
from bigcommerce_sandbox.faults import Fault

from tests.integration.e2e.rig import wait_until
from tests.integration.faults.rig import FaultRig

# whole services through an outage and back: more than the suite's default two minutes under load
pytestmark = pytest.mark.timeout(300)

LEASE = {
    # short, so the takeover comes within seconds; the order budget stays under half of it
    "FLUSH_LEASE_SECONDS": "3",
    "ORDER_TIME_BUDGET_SECONDS": "1.5",
    "FLUSH_INTERVAL_SECONDS": "0.5",
}


async def lease_holder(rig: FaultRig, channel_id: object) -> str | None:
    conn = await asyncpg.connect(rig.database_url)
    try:
        holder: str | None = await conn.fetchval(
            "SELECT holder FROM leases WHERE scope = 'status-writer:flush' AND key = $1", channel_id
        )
        return holder
    finally:
        await conn.close()


async def test_a_writer_frozen_past_its_lease_writes_nothing_when_it_wakes(fault_rig: FaultRig) -> None:
    rig = fault_rig
    await rig.start("gateway", "auth-gateway")
    shop = await rig.shop(orders=4)
    # the despatches wait in the queue, so whichever writer starts first ingests them all at once
    await rig.start("writer-a", "status-writer", **LEASE)
    await rig.publish_despatches(shop, shop.orders)
    # the first flush's read of the first order's lines (the despatches name no items) takes a
    # second: the writer is frozen while it waits, holding the store's lease, with BigCommerce's
    # answer on its way
    slow = rig.sandbox.faults(shop.hash).add(
        Fault("latency", delay_s=1.0, times=1, method="GET", path_pattern=r"/products$")
    )

    async def in_flight() -> bool:
        return slow.fired == 1

    await wait_until(in_flight, "the first writer's request to be in flight")
    holder = await lease_holder(rig, shop.channel_id)
    assert holder is not None
    assert f":{rig.pid('writer-a')}:" in holder
    rig.signal("writer-a", signal.SIGSTOP)
    try:
        await rig.start("writer-b", "status-writer", **LEASE)

        def all_written() -> bool:
            return all(len(o.shipments) == 1 and o.status_id == 10 for o in shop.orders)

        await wait_until(all_written, "the second writer to take the store over and write it", timeout_s=30)
    finally:
        rig.signal("writer-a", signal.SIGCONT)

    def woke_and_stopped() -> bool:
        return bool(rig.logged("writer-a", "store_flush_interrupted"))

    await wait_until(woke_and_stopped, "the frozen writer to wake and find its lease gone")
    # one more flush of each writer: nothing left to write, nothing written twice
    flushes = await rig.metric("writer-a", "status_writer_flush_duration_seconds_count")

    async def flushed_again() -> bool:
        return await rig.metric("writer-a", "status_writer_flush_duration_seconds_count") >= flushes + 2

    await wait_until(flushed_again, "the woken writer to flush again")
    assert rig.logged("writer-a", "shipment_created") == []
    assert len(rig.logged("writer-b", "shipment_created")) == len(shop.orders)
    assert all(len(o.shipments) == 1 for o in shop.orders)
    posts = [r for r in rig.sandbox.requests(shop.hash) if r.method == "POST"]
    assert len(posts) == len(shop.orders)
    await rig.written_once(shop)
    await rig.nothing_dead_lettered()
    await rig.wait_ready()
