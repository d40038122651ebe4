"""A stop arriving mid-flush or mid-ingest: nothing half-recorded, and the next writer finishes the rest once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import asyncpg
import pytest
from aio_pika.abc import AbstractRobustConnection
from bigcommerce_sandbox.faults import Fault, FaultKind
from bigcommerce_sandbox.models import Order
from common.amqp import EventPublisher, Topology
from common.db.despatches import NewDespatch, record_despatches
from common.events import OrderDespatched
from prometheus_client import REGISTRY
from pydantic import SecretStr
from status_writer.service import run
from status_writer.settings import WriterSettings

from tests.support.status_writer import WriterRig, despatch, eventually, writer_rig
from tests.support.waiting import free_port

FLUSHES = "status_writer_flush_duration_seconds_count"


def settings_for(
    rig: WriterRig, database_url: str, amqp_url: str, topology: Topology, *, grace_s: float
) -> WriterSettings:
    return WriterSettings(
        database_url=SecretStr(database_url),
        amqp_url=SecretStr(amqp_url),
        amqp_exchange=topology.exchange,
        http_port=free_port(),
        bigcommerce_client_id="sandbox-client-id",
        bigcommerce_api_url=rig.sandbox.api_url,
        token_encryption_keys=[SecretStr(rig.key)],
        shutdown_grace_s=grace_s,
    )


@asynccontextmanager
async def writer_process(
    settings: WriterSettings, topology: Topology
) -> AsyncIterator[tuple[asyncio.Task[None], asyncio.Event]]:
    """A running `status-writer` (the flush at start included) and its stop flag, set on exit as SIGTERM would."""
    stop = asyncio.Event()
    service = asyncio.create_task(run(settings, stop, queue=topology.queues[0]))
    try:
        yield service, stop
    finally:
        stop.set()
        await asyncio.wait_for(service, 30)


def shipment_posts(rig: WriterRig, store_hash: str, order: Order) -> int:
    return rig.api_calls(store_hash).count(f"POST /orders/{order.id}/shipments")


async def assert_nothing_half_recorded(
    rig: WriterRig, channel_id: uuid.UUID, orders: Sequence[Order]
) -> None:
    """Each despatch is written with its shipment, or still due with what BigCommerce may have got recorded."""
    by_order = {o.id: o for o in orders}
    for row in await rig.despatches(channel_id):
        order = by_order[row["order_id"]]
        shipment_ids = [s.id for s in order.shipments]
        if row["state"] == "written":
            assert shipment_ids
            assert list(row["shipment_ids"]) == shipment_ids
        elif row["state"] == "pending":
            # never sent: no request recorded, and BigCommerce has no shipment for it
            assert row["request"] is None
            assert shipment_ids == []
        else:
            # a request that may have reached BigCommerce is recorded, to be reconciled, not re-sent
            assert row["state"] == "posting", dict(row)
            assert row["request"], dict(row)


async def lock_waiters(pool: asyncpg.Pool) -> int:
    """Sessions of this database waiting on a row lock to insert despatches (an ingest held mid-batch)."""
    value: int = await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO despatches%'"
    )
    return value


@asynccontextmanager
async def uncommitted(pool: asyncpg.Pool, event: OrderDespatched) -> AsyncIterator[None]:
    """Holds `event`'s row in an open transaction: an ingest storing the same event waits on it."""
    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            assert await record_despatches(conn, [NewDespatch(event)]) == {event.event_id}
            yield
        finally:
            await transaction.rollback()


async def test_stop_during_a_slow_shipment_post_finishes_that_order_and_starts_no_other(
    pool: asyncpg.Pool,
    database_url: str,
    amqp_url: str,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        orders = [rig.order(store_hash) for _ in range(4)]
        await rig.record(*(despatch(channel_id, store_hash, o.id) for o in orders))
        slow = rig.sandbox.faults(store_hash).add(
            Fault("latency", method="POST", path_pattern=rf"/orders/{orders[1].id}/shipments$", delay_s=3)
        )
        late_order = rig.order(store_hash)
        late = despatch(channel_id, store_hash, late_order.id)
        settings = settings_for(rig, database_url, amqp_url, topology, grace_s=30)
        flushes_before = REGISTRY.get_sample_value(FLUSHES) or 0.0

        async def flush_ended() -> bool:
            return (REGISTRY.get_sample_value(FLUSHES) or 0.0) > flushes_before

        async with writer_process(settings, topology) as (service, stop):
            async with uncommitted(pool, late):
                async with EventPublisher(amqp_connection, topology) as publisher:
                    await publisher.publish(late)

                async def both_in_hand() -> bool:
                    return slow.fired == 1 and await lock_waiters(pool) == 1

                # the flush has written one order and waits on the second's POST; ingest holds a batch
                assert await eventually(both_in_hand)
                assert len(orders[0].shipments) == 1
                assert orders[1].shipments == []
                stop.set()
                # the consumer cannot finish its batch yet, but the flush was told at once and has ended
                assert await eventually(flush_ended)
                assert not service.done()
                await assert_nothing_half_recorded(rig, channel_id, orders)
                assert [len(o.shipments) for o in orders] == [1, 1, 0, 0]  # the order in hand was finished
                assert [o.status_id for o in orders] == [10, 10, 9, 9]
            # the row released: the batch in hand is stored and acked, then the process exits
            await asyncio.wait_for(service, 30)

        assert await pool.fetchval("SELECT count(*) FROM leases") == 0
        states = [r["state"] for r in await rig.despatches(channel_id)]
        assert states == ["written", "written", "pending", "pending", "pending"]

        rig.sandbox.clear_requests()
        async with writer_process(settings, topology):

            async def all_written() -> bool:
                return {r["state"] for r in await rig.despatches(channel_id)} == {"written"}

            assert await eventually(all_written)
        assert all(len(o.shipments) == 1 for o in [*orders, late_order])
        assert [shipment_posts(rig, store_hash, o) for o in orders] == [0, 0, 1, 1]


@pytest.mark.parametrize("kind", ["timeout", "apply_then_timeout"])
async def test_stop_while_a_shipment_post_hangs_abandons_it_and_the_next_writer_ships_each_order_once(
    pool: asyncpg.Pool,
    database_url: str,
    amqp_url: str,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
    kind: FaultKind,
) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        orders = [rig.order(store_hash) for _ in range(4)]
        await rig.record(*(despatch(channel_id, store_hash, o.id) for o in orders))
        # BigCommerce never answers the second order's POST (having applied it, or not)
        hung = rig.sandbox.faults(store_hash).add(
            Fault(
                kind, method="POST", path_pattern=rf"/orders/{orders[1].id}/shipments$", times=1, hang_s=120
            )
        )
        settings = settings_for(rig, database_url, amqp_url, topology, grace_s=1)

        async with writer_process(settings, topology) as (service, stop):

            async def in_flight() -> bool:
                return hung.fired == 1 and (kind == "timeout" or len(orders[1].shipments) == 1)

            assert await eventually(in_flight)
            stop.set()
            # the client would wait 30 s and BigCommerce 120 s: only abandoning the flush ends it sooner
            await asyncio.wait_for(service, 15)

        await assert_nothing_half_recorded(rig, channel_id, orders)
        rows = await rig.despatches(channel_id)
        assert [r["state"] for r in rows] == ["written", "posting", "pending", "pending"]
        assert rows[1]["request"][0]["tracking_number"] == f"TT{orders[1].id:09d}GB"
        assert [len(o.shipments) for o in orders] == [1, int(kind == "apply_then_timeout"), 0, 0]
        assert await pool.fetchval("SELECT count(*) FROM leases") == 0  # handed back at once

        async def post_dropped() -> bool:
            # the sandbox logs the hung request once it sees the writer's connection gone
            return any(
                r.method == "POST"
                and r.path.endswith(f"/orders/{orders[1].id}/shipments")
                and r.status is None
                for r in rig.sandbox.requests(store_hash)
            )

        assert await eventually(post_dropped)
        rig.sandbox.clear_requests()
        async with writer_process(settings, topology):

            async def all_written() -> bool:
                return {r["state"] for r in await rig.despatches(channel_id)} == {"written"}

            assert await eventually(all_written)
        await assert_nothing_half_recorded(rig, channel_id, orders)
        assert [len(o.shipments) for o in orders] == [1, 1, 1, 1]
        assert all(o.status_id == 10 for o in orders)
        # an applied POST is recognised among the order's shipments, an unapplied one is sent again
        resent = int(kind == "timeout")
        assert [shipment_posts(rig, store_hash, o) for o in orders] == [0, resent, 1, 1]


async def test_messages_unacked_when_ingest_is_stopped_mid_batch_return_and_are_stored_once(
    pool: asyncpg.Pool,
    database_url: str,
    amqp_url: str,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        early = [despatch(channel_id, store_hash, rig.order(store_hash).id) for _ in range(3)]
        held = [despatch(channel_id, store_hash, rig.order(store_hash).id) for _ in range(6)]
        settings = settings_for(rig, database_url, amqp_url, topology, grace_s=1)
        queue = topology.queues[0]

        async def stored() -> int:
            value: int = await pool.fetchval("SELECT count(*) FROM despatches")
            return value

        async with (
            writer_process(settings, topology) as (service, stop),
            EventPublisher(amqp_connection, topology) as publisher,
        ):
            for event in early:
                await publisher.publish(event)

            async def early_stored() -> bool:
                return await stored() == len(early)

            assert await eventually(early_stored)  # ingested and acked before the stop
            async with uncommitted(pool, held[0]):
                for event in held:
                    await publisher.publish(event)

                async def batch_in_hand() -> bool:
                    return await lock_waiters(pool) == 1

                assert await eventually(batch_in_hand)
                stop.set()
                # the batch cannot commit within the grace: the drain abandons it unacked
                await asyncio.wait_for(service, 15)

        committed = await stored()
        assert len(early) <= committed < len(early) + len(held)
        channel = await amqp_connection.channel()
        try:

            async def back_in_queue() -> bool:
                declared = await channel.declare_queue(queue.name, passive=True)
                ready = declared.declaration_result.message_count
                # every message not committed is back; none of those committed is
                return ready == len(early) + len(held) - committed

            assert await eventually(back_in_queue)
        finally:
            await channel.close()

        async with writer_process(settings, topology):

            async def all_stored() -> bool:
                return await stored() == len(early) + len(held)

            assert await eventually(all_stored)
        event_ids = await pool.fetch("SELECT event_id FROM despatches ORDER BY id")
        assert sorted(r["event_id"] for r in event_ids) == sorted(e.event_id for e in [*early, *held])
        channel = await amqp_connection.channel()
        try:
            for name in (queue.name, queue.dlq_name):
                declared = await channel.declare_queue(name, passive=True)
                assert declared.declaration_result.message_count == 0, name
        finally:
            await channel.close()
