"""The outbox: events committed with their state change are published once the relay runs, even after a crash."""

from __future__ import annotations

import json
import uuid

import asyncpg
from aio_pika.abc import AbstractRobustConnection
from common.amqp import EventPublisher, Topology
from common.events import ChannelConnected
from common.outbox import OutboxRelay, enqueue

from tests.support.amqp import bind_probe, get_messages


async def test_rolled_back_events_are_never_published_and_committed_ones_are(
    pool: asyncpg.Pool, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    kept = ChannelConnected(channel_id=uuid.uuid4(), store_hash="kept", status="pending")
    dropped = ChannelConnected(channel_id=uuid.uuid4(), store_hash="dropped", status="pending")
    async with pool.acquire() as conn:
        async with conn.transaction():
            await enqueue(conn, kept)
        try:
            async with conn.transaction():
                await enqueue(conn, dropped)
                raise RuntimeError("state change failed")
        except RuntimeError:
            pass

    probe = await bind_probe(amqp_connection, topology.exchange, "bigcommerce.channel.*")
    async with EventPublisher(amqp_connection, topology) as publisher:
        published = await OutboxRelay(pool, publisher).run_once()

    messages = await get_messages(probe, 2, timeout_s=2)
    assert published == 1
    assert [json.loads(m.body)["store_hash"] for m in messages] == ["kept"]
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0


async def test_relay_that_died_before_publishing_leaves_events_for_the_next_one(
    pool: asyncpg.Pool, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    event = ChannelConnected(channel_id=uuid.uuid4(), store_hash="abc", status="pending")
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, event)
        await enqueue(conn, event)  # enqueueing the same event twice keeps one row

    class BrokenPublisher:
        async def publish_raw(self, body: bytes, **_: str) -> None:
            raise ConnectionResetError("broker gone")

    try:
        await OutboxRelay(pool, BrokenPublisher()).run_once()
    except ConnectionResetError:
        pass
    probe = await bind_probe(amqp_connection, topology.exchange, "#")
    async with EventPublisher(amqp_connection, topology) as publisher:
        assert await OutboxRelay(pool, publisher).run_once() == 1

    (message,) = await get_messages(probe, 1)
    assert message.message_id == str(event.event_id)
