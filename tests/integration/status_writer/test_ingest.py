"""Ingest from RabbitMQ: stored once per despatch, acked after commit, every reject dead-lettered with its reason."""

from __future__ import annotations

import json
import uuid

import asyncpg
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from common.amqp import REJECTION_REASON_HEADER, EventPublisher, Topology
from common.consumer import BatchConsumer
from common.crypto import TokenCipher, generate_key
from status_writer.ingest import DespatchIngestor

from tests.support.amqp import get_messages
from tests.support.status_writer import INSERT_CHANNEL, despatch, eventually


async def add_channel(
    pool: asyncpg.Pool, store_hash: str, *, status: str = "active", toggle: bool = True
) -> uuid.UUID:
    channel_id = uuid.uuid4()
    token = TokenCipher([generate_key()]).encrypt("t")
    await pool.execute(INSERT_CHANNEL, channel_id, store_hash, status, token, toggle, "completed")
    return channel_id


async def count(pool: asyncpg.Pool) -> int:
    value: int = await pool.fetchval("SELECT count(*) FROM despatches")
    return value


async def ingest(
    pool: asyncpg.Pool,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
    bodies: list[bytes],
    *,
    rejected: int,
    stored: int,
) -> list[AbstractIncomingMessage]:
    """Publish raw OrderDespatched bodies to the writer's queue and consume them; the dead letters,
    once `rejected` are dead-lettered and `stored` despatches are in the table."""
    queue = topology.queues[0]
    async with BatchConsumer(amqp_connection, topology, queue, DespatchIngestor(pool), max_batch=50):
        async with EventPublisher(amqp_connection, topology) as publisher:
            for body in bodies:
                await publisher.publish_raw(
                    body,
                    routing_key="order.despatched.bigcommerce",
                    message_id=str(uuid.uuid4()),
                    event_type="OrderDespatched",
                )
        channel = await amqp_connection.channel()
        dlq = await channel.declare_queue(queue.dlq_name, passive=True)
        dead = await get_messages(dlq, rejected)

        async def all_stored() -> bool:
            return await count(pool) == stored

        assert await eventually(all_stored)
    return dead


async def test_despatches_are_stored_once_and_every_reject_is_dead_lettered_with_its_reason(
    pool: asyncpg.Pool, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    active = await add_channel(pool, "store1")
    gone = await add_channel(pool, "store2", status="disconnected")
    first = despatch(active, "store1", 101)
    rejects = [
        b"{not json",
        json.dumps({**json.loads(despatch(active, "store1", 5).to_json()), "order_id": -1}).encode(),
        despatch(uuid.uuid4(), "store1", 102).to_json(),  # unknown channel
        despatch(active, "other", 103).to_json(),  # a channel_id that does not own the store
    ]
    bodies = [
        first.to_json(),
        *rejects,
        first.to_json(),  # redelivered / republished under the same event_id
        despatch(active, "store1", 101, event_id=uuid.uuid4()).to_json(),  # the same despatch, new event_id
        despatch(active, "store1", 105).to_json(),  # the next good event is still handled
        # kept for a disconnected channel: reconnecting it (activate, or a reinstall) writes it then
        despatch(gone, "store2", 104).to_json(),
    ]
    dead = await ingest(pool, amqp_connection, topology, bodies, rejected=len(rejects), stored=3)

    reasons = [str(m.headers[REJECTION_REASON_HEADER]) for m in dead]
    assert len(reasons) == 4
    # channel ids are random uuids: compare as a set, not by sort order
    assert {r for r in reasons if not r.startswith(("schema: ", "unknown channel "))} == {
        f"channel {active} does not own store other",
        "not JSON",
    }
    assert sum(r.startswith("schema: order_id") for r in reasons) == 1
    assert sum(r.startswith("unknown channel ") for r in reasons) == 1
    rows = await pool.fetch("SELECT order_id, state FROM despatches ORDER BY order_id")
    assert [(r["order_id"], r["state"]) for r in rows] == [
        (101, "pending"),
        (104, "pending"),
        (105, "pending"),
    ]
    # every message was settled: nothing left unacked in the queue
    channel = await amqp_connection.channel()
    main = await channel.declare_queue(topology.queues[0].name, passive=True)
    assert main.declaration_result.message_count == 0


async def test_toggle_off_channel_records_not_written(
    pool: asyncpg.Pool, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    channel_id = await add_channel(pool, "store3", toggle=False)
    event = despatch(channel_id, "store3", 7)
    async with BatchConsumer(amqp_connection, topology, topology.queues[0], DespatchIngestor(pool)):
        async with EventPublisher(amqp_connection, topology) as publisher:
            await publisher.publish(event)

        async def stored() -> bool:
            return await count(pool) == 1

        assert await eventually(stored)
    row = await pool.fetchrow("SELECT state, reason FROM despatches")
    assert row["state"] == "not_written"
    assert row["reason"] == "'Mark orders as despatched' is off for this channel"


async def test_numbers_too_large_to_store_are_dead_lettered_at_once_and_extra_item_keys_ignored(
    pool: asyncpg.Pool, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    active = await add_channel(pool, "store4")

    def with_fields(number: int, **fields: object) -> bytes:
        return json.dumps({**json.loads(despatch(active, "store4", number).to_json()), **fields}).encode()

    rejects = [
        with_fields(1, order_id=2**70),
        with_fields(2, order_address_id=2**63),
        with_fields(3, items=[{"order_product_id": 2**64, "quantity": 1}]),
        with_fields(4, items=[{"order_product_id": 5, "quantity": 2**63}]),
    ]
    bodies = [
        *rejects,
        with_fields(5),
        with_fields(6, items=[{"order_product_id": 5, "quantity": 1, "sku": "A1"}]),
    ]
    dead = await ingest(pool, amqp_connection, topology, bodies, rejected=len(rejects), stored=2)

    # dead-lettered by the consumer with the field named, not by the broker after ten redeliveries
    fields = sorted(str(m.headers[REJECTION_REASON_HEADER]).split(":")[1].strip() for m in dead)
    assert fields == ["items.0.order_product_id", "items.0.quantity", "order_address_id", "order_id"]
    assert all("x-death" not in m.headers for m in dead)
    items = await pool.fetchval("SELECT items FROM despatches WHERE order_id = 6")
    assert items == [{"order_product_id": 5, "quantity": 1}]  # the pool decodes jsonb
