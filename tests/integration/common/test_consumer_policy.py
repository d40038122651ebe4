"""The consumer's failure policy against the real servers: wait out the database, requeue only the poison."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence

import aio_pika
import asyncpg
from aio_pika.abc import AbstractRobustConnection
from common.amqp import EventPublisher, Topology
from common.backoff import Backoff
from common.consumer import BatchConsumer, Delivery, DeliveryOutcome
from prometheus_client import REGISTRY

from tests.support.amqp import get_messages
from tests.support.outages import close_broker_connections, database_outage
from tests.support.waiting import eventually

DESPATCHED_KEY = "order.despatched.bigcommerce"


def quick_backoff() -> Backoff:
    return Backoff(base_s=0.01, max_s=0.05)


class TableHandler:
    """Records each message's `n` in a table of the test's database, once (the idempotent handler)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.calls = 0

    async def __call__(self, deliveries: Sequence[Delivery]) -> Sequence[DeliveryOutcome]:
        self.calls += 1
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                "INSERT INTO consumed (n) VALUES ($1) ON CONFLICT DO NOTHING",
                [(json.loads(d.body)["n"],) for d in deliveries],
            )
        return [None] * len(deliveries)


async def publish_numbers(connection: AbstractRobustConnection, topology: Topology, numbers: range) -> None:
    async with EventPublisher(connection, topology) as publisher:
        for n in numbers:
            await publisher.publish_raw(
                json.dumps({"n": n}).encode(),
                routing_key=DESPATCHED_KEY,
                message_id=str(uuid.uuid4()),
                event_type="OrderDespatched",
            )


def metric(name: str, queue: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"queue": queue, **labels}) or 0.0


async def queue_is_empty(connection: AbstractRobustConnection, name: str) -> bool:
    channel = await connection.channel()
    try:
        queue = await channel.declare_queue(name, passive=True)
        return (queue.declaration_result.message_count or 0) == 0
    finally:
        await channel.close()


async def test_a_database_outage_keeps_the_batch_in_hand_and_dead_letters_nothing(
    database_url: str, pool: asyncpg.Pool, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    await pool.execute("CREATE TABLE consumed (n integer PRIMARY KEY)")
    spec = topology.queues[0]
    handler = TableHandler(pool)
    waits_before = metric("amqp_consumer_server_waits_total", spec.name)
    requeued_before = metric("amqp_messages_consumed_total", spec.name, outcome="requeued")

    async with BatchConsumer(amqp_connection, topology, spec, handler, backoff=quick_backoff):
        async with database_outage(database_url):
            await publish_numbers(amqp_connection, topology, range(30))

            # more failed attempts than the queue's delivery limit (10) would have allowed requeues
            async def waited_long() -> bool:
                return metric("amqp_consumer_server_waits_total", spec.name) - waits_before >= 15

            assert await eventually(waited_long)

        async def all_recorded() -> bool:
            return await pool.fetchval("SELECT count(*) FROM consumed") == 30

        assert await eventually(all_recorded)

    assert metric("amqp_messages_consumed_total", spec.name, outcome="requeued") == requeued_before
    channel = await amqp_connection.channel()
    assert await get_messages(await channel.get_queue(spec.dlq_name), 1, timeout_s=0) == []
    assert await queue_is_empty(amqp_connection, spec.name)
    assert metric("amqp_consumer_waiting_for_server", spec.name) == 0


async def test_a_message_that_breaks_the_handler_is_requeued_alone_and_its_batch_mates_are_kept(
    amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    spec = topology.queues[0]
    handled: list[int] = []
    batch_sizes: list[int] = []

    async def handler(deliveries: Sequence[Delivery]) -> Sequence[DeliveryOutcome]:
        batch_sizes.append(len(deliveries))
        numbers = [json.loads(d.body)["n"] for d in deliveries]
        if 3 in numbers:
            raise KeyError("a bug only message 3 triggers")
        handled.extend(numbers)
        return [None] * len(deliveries)

    await publish_numbers(amqp_connection, topology, range(6))
    async with BatchConsumer(amqp_connection, topology, spec, handler, max_batch=10, max_wait_s=0.2):
        channel = await amqp_connection.channel()
        dlq = await channel.get_queue(spec.dlq_name)
        # the broker dead-letters the poison after the queue's delivery limit
        (dead,) = await get_messages(dlq, 1, timeout_s=20)

    assert json.loads(dead.body) == {"n": 3}
    assert sorted(handled) == [0, 1, 2, 4, 5]  # each once: the good ones were never requeued
    assert batch_sizes[0] == 6
    assert await queue_is_empty(amqp_connection, spec.name)


async def test_broker_connections_closed_mid_consume_lose_nothing(
    amqp_url: str, pool: asyncpg.Pool, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    await pool.execute("CREATE TABLE consumed (n integer PRIMARY KEY)")
    spec = topology.queues[0]
    handler = TableHandler(pool)
    name = f"consumer-under-test-{uuid.uuid4().hex[:8]}"
    consumer_connection = await aio_pika.connect_robust(
        amqp_url, client_properties={"connection_name": name}, reconnect_interval=0.2
    )
    try:
        async with BatchConsumer(consumer_connection, topology, spec, handler, max_batch=5):
            await publish_numbers(amqp_connection, topology, range(20))

            async def some_recorded() -> bool:
                return await pool.fetchval("SELECT count(*) FROM consumed") > 0

            assert await eventually(some_recorded)
            assert await close_broker_connections(amqp_url, name) == [name]
            await publish_numbers(amqp_connection, topology, range(20, 40))

            async def all_recorded() -> bool:
                return await pool.fetchval("SELECT count(*) FROM consumed") == 40

            assert await eventually(all_recorded, timeout_s=20)
    finally:
        await consumer_connection.close()
    channel = await amqp_connection.channel()
    assert await get_messages(await channel.get_queue(spec.dlq_name), 1, timeout_s=0) == []
    assert await queue_is_empty(amqp_connection, spec.name)


async def test_stopping_while_the_database_is_down_gives_the_batch_back(
    database_url: str, pool: asyncpg.Pool, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    await pool.execute("CREATE TABLE consumed (n integer PRIMARY KEY)")
    spec = topology.queues[0]
    handler = TableHandler(pool)
    async with database_outage(database_url):
        consumer = BatchConsumer(amqp_connection, topology, spec, handler, backoff=quick_backoff)
        await consumer.__aenter__()
        await publish_numbers(amqp_connection, topology, range(3))

        async def trying() -> bool:
            return handler.calls >= 2

        assert await eventually(trying)
        await asyncio.wait_for(consumer.drain(), 5)

    async with BatchConsumer(amqp_connection, topology, spec, TableHandler(pool)):

        async def all_recorded() -> bool:
            return await pool.fetchval("SELECT count(*) FROM consumed") == 3

        assert await eventually(all_recorded)
