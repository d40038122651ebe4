"""Writer fencing: a replica that stalled past its lease writes nothing more; each order has a time budget."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from bigcommerce_sandbox.faults import Fault
from common.leases import FencedLeases, LeaseLostError
from status_writer.db.stores import FLUSH_LEASE_SCOPE
from status_writer.db.writeback import Settlement, mark_posting, settle
from status_writer.store_flush import FlushPolicy

from tests.support.status_writer import despatch, writer_rig
from tests.support.waiting import eventually


async def lease_holder(pool: asyncpg.Pool, channel_id: uuid.UUID) -> str | None:
    holder: str | None = await pool.fetchval(
        "SELECT holder FROM leases WHERE scope = $1 AND key = $2", FLUSH_LEASE_SCOPE, channel_id
    )
    return holder


async def test_fenced_writes_refuse_a_replica_whose_lease_was_taken_over(pool: asyncpg.Pool) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        order = rig.order(store_hash)
        await rig.record(despatch(channel_id, store_hash, order.id))
        [row] = await rig.despatches(channel_id)
        stalled = FencedLeases(pool, FLUSH_LEASE_SCOPE, holder="stalled", duration_s=300, clock=rig.time.now)
        successor = FencedLeases(
            pool, FLUSH_LEASE_SCOPE, holder="successor", duration_s=300, clock=rig.time.now
        )
        old = await stalled.acquire(channel_id)
        assert old is not None
        assert await successor.acquire(channel_id) is None  # live: nobody else gets it

        rig.time.advance(301)  # the holder froze past its lease
        new = await successor.acquire(channel_id)
        assert new is not None
        assert new.token > old.token

        request = {row["id"]: [{"order_address_id": 1, "items": []}]}
        assert not await mark_posting(pool, request, fence=old.fence)
        assert await settle(pool, [Settlement(row["id"], "failed", "late")], fence=old.fence) == 0
        try:
            await old.renew()
        except LeaseLostError:
            pass
        else:
            raise AssertionError("a lease taken over cannot be renewed")
        unchanged = (await rig.despatches(channel_id))[0]
        assert (unchanged["state"], unchanged["request"]) == ("pending", None)

        assert await mark_posting(pool, request, fence=new.fence)
        await old.release()  # a stale release cannot free the successor's lease
        assert await lease_holder(pool, channel_id) == "successor"


async def test_a_writer_stalled_in_a_request_past_its_lease_writes_nothing_when_it_wakes(
    pool: asyncpg.Pool,
) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        orders = [rig.order(store_hash) for _ in range(2)]
        await rig.record(*(despatch(channel_id, store_hash, o.id) for o in orders))
        # the first writer's first read hangs: it is frozen there while its lease runs out
        stall = rig.sandbox.faults(store_hash).add(Fault("timeout", times=1, method="GET", hang_s=1.5))
        frozen, successor = rig.writer(holder="frozen"), rig.writer(holder="successor")

        frozen_flush = asyncio.create_task(frozen.flush_once())

        async def stalled() -> bool:
            return stall.fired == 1

        assert await eventually(stalled)
        rig.time.advance(301)
        successor_flush = asyncio.create_task(successor.flush_once())

        async def taken_over() -> bool:
            return await lease_holder(pool, channel_id) == "successor"

        assert await eventually(taken_over)
        frozen_report, successor_report = await asyncio.gather(frozen_flush, successor_flush)

        assert frozen_report.written == 0
        assert successor_report.written == 2
        assert all(len(o.shipments) == 1 and o.status_id == 10 for o in orders)
        assert [c.split()[0] for c in rig.api_calls(store_hash)].count("POST") == 2
        assert {r["state"] for r in await rig.despatches(channel_id)} == {"written"}


async def test_a_post_applied_while_its_writer_stalled_is_reconciled_not_repeated(pool: asyncpg.Pool) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        order = rig.order(store_hash)
        await rig.record(despatch(channel_id, store_hash, order.id))
        # BigCommerce applies the POST; the answer never comes while the writer is frozen
        lost = rig.sandbox.faults(store_hash).add(
            Fault("apply_then_timeout", times=1, method="POST", hang_s=1.5)
        )
        frozen, successor = rig.writer(holder="frozen"), rig.writer(holder="successor")

        frozen_flush = asyncio.create_task(frozen.flush_once())

        async def posted() -> bool:
            return lost.fired == 1 and len(order.shipments) == 1

        assert await eventually(posted)
        rig.time.advance(301)
        successor_report = await successor.flush_once()
        frozen_report = await frozen_flush  # wakes, retries: its lease check refuses the request

        assert (frozen_report.written, successor_report.written) == (0, 1)
        assert len(order.shipments) == 1
        assert order.status_id == 10
        assert [c.split()[0] for c in rig.api_calls(store_hash)].count("POST") == 1
        [row] = await rig.despatches(channel_id)
        assert (row["state"], row["shipment_ids"]) == ("written", [order.shipments[0].id])


async def test_an_order_past_its_time_budget_is_deferred_and_keeps_what_it_sent(pool: asyncpg.Pool) -> None:
    policy = FlushPolicy(lease_s=300, backoff_s=60, backoff_max_s=3600, order_budget_s=0.5)
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        slow_read, slow_post = rig.order(store_hash), rig.order(store_hash)
        await rig.record(despatch(channel_id, store_hash, slow_read.id))
        faults = rig.sandbox.faults(store_hash)
        faults.add(Fault("timeout", method="GET", path_pattern=f"/orders/{slow_read.id}/", hang_s=5))
        writer = rig.writer(policy=policy)

        report = await writer.flush_once()

        assert report.written == 0
        [row] = await rig.despatches(channel_id)
        assert (row["state"], row["request"]) == ("pending", None)
        assert row["reason"].startswith("BigCommerce too slow, retrying later: order")
        assert row["next_attempt_at"] > rig.time.now()
        assert "too slow" in report.errors[store_hash]

        # the budget runs out while a POST BigCommerce applied is unanswered: it stays 'posting'
        faults.clear()
        await pool.execute("DELETE FROM despatches")
        await rig.record(despatch(channel_id, store_hash, slow_post.id))
        faults.add(Fault("apply_then_timeout", times=1, method="POST", hang_s=5))
        await writer.flush_once()

        [row] = await rig.despatches(channel_id)
        assert row["state"] == "posting"
        assert row["request"] is not None
        assert len(slow_post.shipments) == 1

        rig.time.advance(3600)
        assert (await writer.flush_once()).written == 1
        assert len(slow_post.shipments) == 1  # reconciled, not posted again
