"""Failures on the way to BigCommerce: rate limits, outages, revoked tokens, lost responses, crashes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg
import pytest
from bigcommerce_sandbox.faults import Fault
from bigcommerce_sandbox.models import Order
from common.db.despatches import count_pending_despatches, list_despatches, retry_despatch

from tests.support.status_writer import WriterRig, despatch, every_item, writer_rig


async def test_429_storm_keeps_despatches_pending_until_bigcommerce_answers_again(pool: asyncpg.Pool) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        orders = [rig.order(store_hash) for _ in range(3)]
        await rig.record(*(despatch(channel_id, store_hash, o.id) for o in orders))
        storm = rig.sandbox.faults(store_hash).add(Fault("status", status=429))
        writer = rig.writer()

        report = await writer.flush_once()

        assert report.written == 0
        assert storm.fired > 1
        assert all(o.shipments == [] for o in orders)
        assert await count_pending_despatches(pool, channel_id) == 3
        [first, *rest] = await rig.despatches(channel_id)
        assert first["reason"].startswith("BigCommerce unavailable, retrying later")
        assert first["next_attempt_at"] > rig.time.now()  # backed off
        assert all(r["attempts"] == 0 for r in rest)  # the store's flush stopped at the first failure
        last_error = await pool.fetchval(
            "SELECT last_writeback_error FROM channels WHERE id = $1", channel_id
        )
        assert "unavailable" in last_error

        rig.sandbox.faults(store_hash).clear()
        rig.time.advance(1800)
        report = await writer.flush_once()

        assert report.written == 3
        assert all(len(o.shipments) == 1 and o.status_id == 10 for o in orders)
        assert (
            await pool.fetchval("SELECT last_writeback_error FROM channels WHERE id = $1", channel_id) is None
        )


async def test_5xx_is_retried_and_an_outage_loses_nothing(pool: asyncpg.Pool) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        blip_order, outage_order = rig.order(store_hash), rig.order(store_hash)
        await rig.record(despatch(channel_id, store_hash, blip_order.id))
        rig.sandbox.faults(store_hash).add(Fault("status", status=502, times=2))
        writer = rig.writer()

        assert (await writer.flush_once()).written == 1  # the client's retries absorb a short blip
        assert len(blip_order.shipments) == 1

        await rig.record(despatch(channel_id, store_hash, outage_order.id))
        rig.sandbox.faults(store_hash).add(Fault("status", status=503, method="POST"))
        assert (await writer.flush_once()).written == 0
        [row] = [r for r in await rig.despatches(channel_id) if r["order_id"] == outage_order.id]
        assert row["state"] == "posting"  # the POST may have been applied: reconciled, never repeated blindly

        rig.sandbox.faults(store_hash).clear()
        rig.time.advance(1800)
        assert (await writer.flush_once()).written == 1
        assert len(outage_order.shipments) == 1


async def test_revoked_token_flags_the_channel_and_keeps_despatches_pending(pool: asyncpg.Pool) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        order = rig.order(store_hash)
        await rig.record(despatch(channel_id, store_hash, order.id))
        rig.sandbox.revoke_tokens(store_hash)

        await rig.writer().flush_once()

        status = await pool.fetchval("SELECT status FROM channels WHERE id = $1", channel_id)
        assert status == "reauthorization_required"
        assert await count_pending_despatches(pool, channel_id) == 1
        requests = len(rig.sandbox.requests(store_hash))
        rig.time.advance(3600)
        await rig.writer().flush_once()
        assert len(rig.sandbox.requests(store_hash)) == requests  # no more requests with that token


# planned from the download's memory (no read before the POST) or from BigCommerce's answers
PLANNED_FROM = pytest.mark.parametrize("remembered", [False, True], ids=["read", "remembered"])


async def record_despatch(
    rig: WriterRig, channel_id: uuid.UUID, store_hash: str, order: Order, remembered: bool
) -> None:
    """A despatch of the whole order; when `remembered`, the order's memory is kept and the items named."""
    if remembered:
        await rig.remember(store_hash, channel_id, order)
        await rig.record(despatch(channel_id, store_hash, order.id, items=every_item(order)))
    else:
        await rig.record(despatch(channel_id, store_hash, order.id))


@PLANNED_FROM
async def test_lost_response_after_the_post_does_not_ship_twice(pool: asyncpg.Pool, remembered: bool) -> None:
    # one attempt per call: the client's own find-before-retry cannot help, the writer must reconcile
    async with writer_rig(pool, max_attempts=1) as rig:
        store_hash, channel_id = await rig.new_channel()
        order = rig.order(store_hash)
        await record_despatch(rig, channel_id, store_hash, order, remembered)
        rig.sandbox.faults(store_hash).add(Fault("apply_then_timeout", method="POST", times=1, hang_s=5))
        writer = rig.writer()

        await writer.flush_once()

        assert len(order.shipments) == 1  # BigCommerce applied it; the writer never heard back
        [row] = await rig.despatches(channel_id)
        assert row["state"] == "posting"
        assert row["request"][0]["tracking_number"] == f"TT{order.id:09d}GB"

        rig.time.advance(1800)
        await writer.flush_once()

        assert len(order.shipments) == 1
        [row] = await rig.despatches(channel_id)
        assert row["state"] == "written"
        assert row["shipment_ids"] == [order.shipments[0].id]
        assert order.status_id == 10  # the status step, skipped by the crash, is done now
        assert [c for c in rig.api_calls(store_hash) if c.startswith("POST")] == [
            f"POST /orders/{order.id}/shipments"
        ]


@PLANNED_FROM
async def test_writer_killed_between_recording_posting_and_the_post_ships_once_after_restart(
    pool: asyncpg.Pool, remembered: bool
) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        crashed_after_post, crashed_before_post = rig.order(store_hash), rig.order(store_hash)
        for order in (crashed_after_post, crashed_before_post):
            await record_despatch(rig, channel_id, store_hash, order, remembered)
        # the dead writer's traces: both marked 'posting' with their exact request, one POST applied
        first = rig.writer(holder="dead")
        await first.flush_once()
        for order in (crashed_after_post, crashed_before_post):
            order.status_id = 9
        sent = crashed_before_post.shipments.pop()
        for item in sent.items:
            line = crashed_before_post.line(item.order_product_id)
            assert line is not None
            line.quantity_shipped -= item.quantity
        await pool.execute("UPDATE despatches SET state = 'posting', shipment_ids = '{}'")
        rig.sandbox.clear_requests()

        await rig.writer(holder="restarted").flush_once()

        assert len(crashed_after_post.shipments) == 1
        assert len(crashed_before_post.shipments) == 1
        assert [c.split()[0] for c in rig.api_calls(store_hash)].count("POST") == 1
        assert {r["state"] for r in await rig.despatches(channel_id)} == {"written"}


async def test_despatches_acked_before_a_crash_are_written_by_the_restarted_writer(
    pool: asyncpg.Pool,
) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        order = rig.order(store_hash)
        await rig.record(despatch(channel_id, store_hash, order.id))
        # the first writer took the store's lease and died before writing anything
        crashed = rig.writer(holder="crashed")
        await pool.execute(
            "INSERT INTO leases (scope, key, holder, token, expires_at)"
            " VALUES ('status-writer:flush', $1, $2, nextval('lease_fencing_tokens'), $3)",
            channel_id,
            crashed.holder,
            rig.time.now() + timedelta(seconds=300),
        )
        restarted = rig.writer(holder="restarted")

        assert (await restarted.flush_once()).written == 0  # the lease is still live
        rig.time.advance(301)
        assert (await restarted.flush_once()).written == 1
        assert len(order.shipments) == 1


@PLANNED_FROM
async def test_two_writers_on_one_database_write_every_despatch_once(
    pool: asyncpg.Pool, remembered: bool
) -> None:
    async with writer_rig(pool) as rig:
        stores = [await rig.new_channel() for _ in range(4)]
        orders = []
        for store_hash, channel_id in stores:
            for _ in range(5):
                order = rig.order(store_hash)
                orders.append(order)
                await record_despatch(rig, channel_id, store_hash, order, remembered)

        reports = await asyncio.gather(rig.writer().flush_once(), rig.writer().flush_once())

        assert sum(r.written for r in reports) == 20
        assert all(len(o.shipments) == 1 for o in orders)
        for store_hash, _ in stores:
            assert [c.split()[0] for c in rig.api_calls(store_hash)].count("POST") == 5


async def test_merchant_retry_queues_a_failed_despatch_again(pool: asyncpg.Pool) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        order = rig.order(store_hash)
        await rig.record(despatch(channel_id, store_hash, order.id))
        rig.sandbox.faults(store_hash).add(Fault("status", status=422, method="POST", times=1))
        writer = rig.writer()
        await writer.flush_once()
        assert [v.order_id for v in await list_despatches(pool, channel_id, "failed")] == [order.id]

        assert await retry_despatch(pool, channel_id, order.id) == 1
        await writer.flush_once()

        assert len(order.shipments) == 1
        assert await list_despatches(pool, channel_id, "failed") == []


async def test_disconnected_channel_gets_no_request(pool: asyncpg.Pool) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        order = rig.order(store_hash)
        await rig.record(despatch(channel_id, store_hash, order.id))
        await pool.execute(
            "UPDATE channels SET status = 'disconnected', access_token_encrypted = NULL WHERE id = $1",
            channel_id,
        )

        report = await rig.writer().flush_once()

        assert report.stores == 0
        assert rig.api_calls(store_hash) == []
        assert await count_pending_despatches(pool, channel_id) == 1


async def test_a_despatch_made_while_disconnected_is_written_once_the_channel_reconnects(
    pool: asyncpg.Pool,
) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        order = rig.order(store_hash)
        # "Disconnect Store": the grant is kept, the channel is not served
        await pool.execute("UPDATE channels SET status = 'disconnected' WHERE id = $1", channel_id)
        await rig.record(despatch(channel_id, store_hash, order.id))  # ingested, not refused

        assert (await rig.writer().flush_once()).stores == 0
        assert rig.api_calls(store_hash) == []

        await pool.execute("UPDATE channels SET status = 'active' WHERE id = $1", channel_id)  # reconnected
        await rig.writer().flush_once()

        assert len(order.shipments) == 1
        assert await count_pending_despatches(pool, channel_id) == 0
