"""The outbox: events committed with their state change are published once the relay runs, even after a crash."""

from __future__ import annotations

import json
import uuid

import asyncpg
from aio_pika.abc import AbstractRobustConnection
from common.amqp import EventPublisher, Topology
from common.events import ChannelActivated, ChannelConnected
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

    # no backoff, so the retry is due at once instead of after the usual wait
    assert await OutboxRelay(pool, BrokenPublisher(), max_backoff_s=0).run_once() == 0
    waiting = await pool.fetchrow("SELECT attempts, last_error FROM outbox")
    assert (waiting["attempts"], waiting["last_error"]) == (1, "broker gone")

    probe = await bind_probe(amqp_connection, topology.exchange, "#")
    async with EventPublisher(amqp_connection, topology) as publisher:
        assert await OutboxRelay(pool, publisher).run_once() == 1

    (message,) = await get_messages(probe, 1)
    assert message.message_id == str(event.event_id)


async def test_an_event_nobody_subscribed_to_waits_without_blocking_the_rest(
    pool: asyncpg.Pool, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    unrouted = ChannelConnected(channel_id=uuid.uuid4(), store_hash="first", status="pending")
    routed = ChannelActivated(channel_id=uuid.uuid4(), store_hash="second", status="active")
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, unrouted)
        await enqueue(conn, routed)
    probe = await bind_probe(amqp_connection, topology.exchange, "bigcommerce.channel.activated")

    async with EventPublisher(amqp_connection, topology) as publisher:
        assert await OutboxRelay(pool, publisher).run_once() == 1

    (message,) = await get_messages(probe, 1)
    assert message.message_id == str(routed.event_id)
    left = await pool.fetchrow("SELECT event_id, attempts, last_error FROM outbox WHERE published_at IS NULL")
    assert left["event_id"] == unrouted.event_id
    assert left["attempts"] == 1
    assert "unroutable" in left["last_error"]
