"""The outbox: events committed with their state change are published once the relay runs, even after a crash."""

from __future__ import annotations

import json
import uuid

import asyncpg
import pytest
import structlog
from aio_pika.abc import AbstractRobustConnection
from common.amqp import EventPublisher, Topology
from common.db.outbox import enqueue
from common.events import ChannelActivated, ChannelConnected
from common.outbox import BrokerUnavailableError, OutboxRelay
from prometheus_client import REGISTRY

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


async def test_a_broker_that_is_down_blames_no_event_and_the_next_relay_publishes(
    pool: asyncpg.Pool, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    event = ChannelConnected(channel_id=uuid.uuid4(), store_hash="abc", status="pending")
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, event)
        await enqueue(conn, event)  # enqueueing the same event twice keeps one row

    class BrokenPublisher:
        async def publish_raw(self, body: bytes, **_: str) -> None:
            raise ConnectionResetError("broker gone")

    with pytest.raises(BrokerUnavailableError):
        await OutboxRelay(pool, BrokenPublisher()).run_once()
    waiting = await pool.fetchrow("SELECT attempts, next_attempt_at, published_at FROM outbox")
    # not the event's fault: no attempt counted, no backoff, due as soon as the broker is back
    assert (waiting["attempts"], waiting["next_attempt_at"], waiting["published_at"]) == (0, None, None)

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


async def enqueue_all(pool: asyncpg.Pool, *events: ChannelConnected | ChannelActivated) -> None:
    async with pool.acquire() as conn, conn.transaction():
        for event in events:
            await enqueue(conn, event)


async def test_an_event_refused_past_44_attempts_waits_the_capped_backoff_and_others_still_go(
    pool: asyncpg.Pool, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    # unroutable for ~20 minutes: 45 attempts, and an absurd count no relay could ever reach
    stuck = [
        ChannelConnected(channel_id=uuid.uuid4(), store_hash=f"stuck{n}", status="pending") for n in (1, 2)
    ]
    routed = ChannelActivated(channel_id=uuid.uuid4(), store_hash="routed", status="active")
    await enqueue_all(pool, *stuck, routed)
    await pool.execute(
        "UPDATE outbox SET attempts = CASE WHEN event_id = $1 THEN 45 ELSE 2147483647 END"
        " WHERE event_id = ANY($2::uuid[])",
        stuck[0].event_id,
        [e.event_id for e in stuck],
    )
    probe = await bind_probe(amqp_connection, topology.exchange, "bigcommerce.channel.activated")

    async with EventPublisher(amqp_connection, topology) as publisher:
        relay = OutboxRelay(pool, publisher, max_backoff_s=30)
        assert await relay.run_once() == 1
        # the relay's loop runs again at once: the refused rows are not due, nothing is sent again
        assert await relay.run_once() == 0

    (message,) = await get_messages(probe, 1)
    assert message.message_id == str(routed.event_id)
    assert await probe.get(fail=False, no_ack=True) is None  # confirmed publishes: nothing more comes
    rows = await pool.fetch(
        "SELECT attempts, EXTRACT(EPOCH FROM next_attempt_at - now()) AS wait_s, published_at"
        " FROM outbox WHERE event_id = ANY($1::uuid[]) ORDER BY id",
        [e.event_id for e in stuck],
    )
    assert [r["attempts"] for r in rows] == [46, 2147483647]
    assert all(r["published_at"] is None for r in rows)
    assert all(25 < r["wait_s"] <= 30 for r in rows)  # the cap, not an overflow or a second


async def test_failed_bookkeeping_never_unpublishes_the_confirmed_events(
    pool: asyncpg.Pool, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    unrouted = ChannelConnected(channel_id=uuid.uuid4(), store_hash="unrouted", status="pending")
    routed = ChannelActivated(channel_id=uuid.uuid4(), store_hash="routed", status="active")
    await enqueue_all(pool, unrouted, routed)
    # the failure bookkeeping breaks (in this test's own database only)
    await pool.execute(
        """
        CREATE FUNCTION refuse_attempts() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'bookkeeping broken'; END $$;
        CREATE TRIGGER refuse_attempts BEFORE UPDATE OF attempts ON outbox
            FOR EACH ROW EXECUTE FUNCTION refuse_attempts();
        """
    )
    probe = await bind_probe(amqp_connection, topology.exchange, "bigcommerce.channel.activated")

    async with EventPublisher(amqp_connection, topology) as publisher:
        with pytest.raises(asyncpg.RaiseError, match="bookkeeping broken"):
            await OutboxRelay(pool, publisher).run_once()
        published_at = await pool.fetchval(
            "SELECT published_at FROM outbox WHERE event_id = $1", routed.event_id
        )
        assert published_at is not None

        await pool.execute("DROP TRIGGER refuse_attempts ON outbox")
        assert await OutboxRelay(pool, publisher).run_once() == 0

    (message,) = await get_messages(probe, 1)
    assert message.message_id == str(routed.event_id)
    # every publish was confirmed, so a second copy would already be in the queue
    assert await probe.get(fail=False, no_ack=True) is None


async def test_an_unroutable_event_is_counted_and_logged_once_per_backoff_step(
    pool: asyncpg.Pool, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    unrouted = ChannelConnected(channel_id=uuid.uuid4(), store_hash="unrouted", status="pending")
    await enqueue_all(pool, unrouted)
    before = REGISTRY.get_sample_value(
        "outbox_publish_failures_total", {"event_type": "ChannelConnected", "reason": "unroutable"}
    )

    async with EventPublisher(amqp_connection, topology) as publisher:
        relay = OutboxRelay(pool, publisher)
        with structlog.testing.capture_logs() as logs:
            for _ in range(5):  # the relay's loop comes round every second
                await relay.run_once()

    lines = [line for line in logs if line["event"] == "outbox_events_not_published"]
    assert len(lines) == 1
    assert lines[0]["reasons"] == {"unroutable": 1}
    assert lines[0]["routing_keys"] == ["bigcommerce.channel.connected"]
    after = REGISTRY.get_sample_value(
        "outbox_publish_failures_total", {"event_type": "ChannelConnected", "reason": "unroutable"}
    )
    assert (after or 0) - (before or 0) == 1
    assert REGISTRY.get_sample_value("outbox_events_waiting") == 1
    assert (REGISTRY.get_sample_value("outbox_lag_seconds") or 0) >= 0
