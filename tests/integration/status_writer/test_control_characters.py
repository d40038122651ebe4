"""Text with NUL or other control characters in OrderDespatched: dead-lettered naming the field, batch mates stored."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
from aio_pika.abc import AbstractRobustConnection
from common.amqp import REJECTION_REASON_HEADER, EventPublisher, Topology
from common.consumer import BatchConsumer
from common.crypto import TokenCipher, generate_key
from status_writer.ingest import DespatchIngestor

from tests.support.amqp import get_messages
from tests.support.status_writer import INSERT_CHANNEL, despatch, eventually


def body(channel_id: uuid.UUID, order_id: int, **text: Any) -> bytes:
    """A valid OrderDespatched as JSON, with raw text fields the model would refuse to build."""
    event = json.loads(despatch(channel_id, "store1", order_id, tracking_number=f"AB{order_id}GB").to_json())
    return json.dumps({**event, **text}).encode()  # json.dumps writes NUL as \\u0000


async def test_control_characters_are_dead_lettered_while_batch_mates_are_stored(
    pool: asyncpg.Pool, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    channel_id = uuid.uuid4()
    token = TokenCipher([generate_key()]).encrypt("t")
    await pool.execute(INSERT_CHANNEL, channel_id, "store1", "active", token, True, "completed")
    bodies = [
        body(channel_id, 1),
        body(channel_id, 2, tracking_number="AB\u0000123GB"),  # PostgreSQL cannot store it at all
        body(channel_id, 3, service_name="Tracked\ttab and\nnewline are fine"),
        body(channel_id, 4, carrier="Royal\u001bMail"),
        body(channel_id, 5, service_name="Tracked 48\u0007"),
        body(channel_id, 6, store_hash="store1\u0000"),
        body(channel_id, 7, tracking_number="\u0085AB7GB"),  # C1 control, and blank after stripping
        body(channel_id, 8),
    ]
    queue = topology.queues[0]
    # published before the consumer starts: the messages arrive together, as one batch
    async with EventPublisher(amqp_connection, topology) as publisher:
        for raw in bodies:
            await publisher.publish_raw(
                raw,
                routing_key="order.despatched.bigcommerce",
                message_id=str(uuid.uuid4()),
                event_type="OrderDespatched",
            )
    async with BatchConsumer(amqp_connection, topology, queue, DespatchIngestor(pool), max_batch=50):
        channel = await amqp_connection.channel()
        dlq = await channel.declare_queue(queue.dlq_name, passive=True)
        dead = await get_messages(dlq, 5)

        async def good_ones_stored() -> bool:
            return await pool.fetchval("SELECT count(*) FROM despatches") == 3

        assert await eventually(good_ones_stored)

    rows = await pool.fetch("SELECT order_id, service_name FROM despatches ORDER BY order_id")
    assert [r["order_id"] for r in rows] == [1, 3, 8]
    assert rows[1]["service_name"] == "Tracked\ttab and\nnewline are fine"
    reasons = sorted(str(m.headers[REJECTION_REASON_HEADER]) for m in dead)
    fields = sorted(reason.split(":")[1].strip() for reason in reasons)
    assert fields == ["carrier", "service_name", "store_hash", "tracking_number", "tracking_number"]
    for reason in reasons:
        assert reason.startswith("schema: ")
        assert "control characters" in reason
    main = await channel.declare_queue(queue.name, passive=True)
    assert main.declaration_result.message_count == 0
