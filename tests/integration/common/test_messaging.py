"""RabbitMQ: confirmed publishing, the contract topology, dead-lettering with a reason, graceful drain."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence

import aio_pika
import pytest
from aio_pika.abc import AbstractRobustConnection
from common.amqp import (
    ORDER_DESPATCHED_QUEUE,
    REJECTION_REASON_HEADER,
    EventPublisher,
    Topology,
    declare_topology,
    order_despatched_queue,
)
from common.consumer import BatchConsumer, Delivery, DeliveryOutcome, Rejected
from common.errors import PublishError
from common.events import ChannelConnected

from tests.support.amqp import bind_probe, get_messages


def test_contract_names() -> None:
    topology = Topology(queues=(order_despatched_queue(),))
    assert topology.exchange == "clickdrop.events"
    assert topology.dead_letter_exchange == "clickdrop.events.dlx"
    assert ORDER_DESPATCHED_QUEUE == "bigcommerce.status-writer.order-despatched"
    assert topology.queues[0].dlq_name == "bigcommerce.status-writer.order-despatched.dlq"
    assert topology.queues[0].routing_keys == ("order.despatched.bigcommerce",)


async def test_published_event_arrives_with_the_contract_properties(
    amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    event = ChannelConnected(channel_id=uuid.uuid4(), store_hash="abc123", status="pending")
    async with EventPublisher(amqp_connection, topology) as publisher:
        probe = await bind_probe(amqp_connection, topology.exchange, "bigcommerce.channel.#")
        await publisher.publish(event)

    (message,) = await get_messages(probe, 1)
    assert message.routing_key == "bigcommerce.channel.connected"
    assert message.message_id == str(event.event_id)
    assert message.type == "ChannelConnected"
    assert message.content_type == "application/json"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert json.loads(message.body)["store_hash"] == "abc123"


async def test_unroutable_event_raises_instead_of_vanishing(
    amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    async with EventPublisher(amqp_connection, topology) as publisher:
        with pytest.raises(PublishError, match="unroutable"):
            await publisher.publish(
                ChannelConnected(channel_id=uuid.uuid4(), store_hash="x", status="pending")
            )


async def test_topology_declaration_is_idempotent_and_queues_are_quorum(
    amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    channel = await amqp_connection.channel()
    await declare_topology(channel, topology)
    await declare_topology(channel, topology)
    spec = topology.queues[0]
    # a passive redeclare with different arguments would fail; with the same ones it passes
    queue = await channel.declare_queue(
        spec.name,
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-dead-letter-exchange": topology.dead_letter_exchange,
            "x-dead-letter-routing-key": spec.name,
            "x-delivery-limit": spec.delivery_limit,
        },
    )
    assert queue.name == spec.name
    await channel.close()


class RecordingHandler:
    """Accepts JSON objects with "ok": true, rejects anything else."""

    def __init__(self) -> None:
        self.accepted: list[dict[str, object]] = []
        self.got_good = asyncio.Event()

    async def __call__(self, deliveries: Sequence[Delivery]) -> Sequence[DeliveryOutcome]:
        outcomes: list[DeliveryOutcome] = []
        for delivery in deliveries:
            try:
                body = json.loads(delivery.body)
            except ValueError:
                outcomes.append(Rejected("not JSON"))
                continue
            if not body.get("ok"):
                outcomes.append(Rejected("schema: ok is required"))
                continue
            self.accepted.append(body)
            self.got_good.set()
            outcomes.append(None)
        return outcomes


async def publish_raw(connection: AbstractRobustConnection, topology: Topology, body: bytes) -> None:
    async with EventPublisher(connection, topology) as publisher:
        await publisher.publish_raw(
            body,
            routing_key="order.despatched.bigcommerce",
            message_id=str(uuid.uuid4()),
            event_type="OrderDespatched",
        )


async def test_poison_message_lands_in_the_dlq_with_its_reason_and_the_next_is_handled(
    amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    handler = RecordingHandler()
    spec = topology.queues[0]
    async with BatchConsumer(amqp_connection, topology, spec, handler):
        await publish_raw(amqp_connection, topology, b"{not json")
        await publish_raw(amqp_connection, topology, b'{"ok": true, "n": 2}')
        await asyncio.wait_for(handler.got_good.wait(), 10)

    channel = await amqp_connection.channel()
    dlq = await channel.get_queue(spec.dlq_name)
    (dead,) = await get_messages(dlq, 1)
    assert dead.body == b"{not json"
    assert dead.headers[REJECTION_REASON_HEADER] == "not JSON"
    assert handler.accepted == [{"ok": True, "n": 2}]
    main = await channel.get_queue(spec.name)
    assert await main.get(fail=False) is None


async def test_drain_returns_unhandled_messages_to_the_queue(
    amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    spec = topology.queues[0]
    entered = asyncio.Event()
    release = asyncio.Event()

    async def slow_failing_handler(deliveries: Sequence[Delivery]) -> Sequence[DeliveryOutcome]:
        entered.set()
        await release.wait()
        raise RuntimeError("database went away mid-batch")

    for n in range(3):
        await publish_raw(amqp_connection, topology, json.dumps({"ok": True, "n": n}).encode())
    consumer = BatchConsumer(amqp_connection, topology, spec, slow_failing_handler, max_batch=10)
    await consumer.__aenter__()
    await asyncio.wait_for(entered.wait(), 10)
    drain = asyncio.create_task(consumer.drain())
    release.set()
    await drain

    handler = RecordingHandler()
    async with BatchConsumer(amqp_connection, topology, spec, handler):
        deadline = asyncio.get_running_loop().time() + 10
        while len(handler.accepted) < 3 and asyncio.get_running_loop().time() < deadline:
            await asyncio.wait_for(handler.got_good.wait(), 10)
            handler.got_good.clear()
    assert sorted(int(str(body["n"])) for body in handler.accepted) == [0, 1, 2]


async def test_consumer_killed_without_ack_loses_nothing(
    amqp_url: str, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    spec = topology.queues[0]
    started = asyncio.Event()

    async def never_finishes(deliveries: Sequence[Delivery]) -> Sequence[DeliveryOutcome]:
        started.set()
        await asyncio.Event().wait()
        return []

    await publish_raw(amqp_connection, topology, b'{"ok": true, "n": 7}')
    doomed = await aio_pika.connect_robust(amqp_url)
    consumer = BatchConsumer(doomed, topology, spec, never_finishes, drain_timeout_s=0.1)
    await consumer.__aenter__()
    await asyncio.wait_for(started.wait(), 10)
    await doomed.close()  # the process dies: its unacked delivery returns to the queue

    handler = RecordingHandler()
    async with BatchConsumer(amqp_connection, topology, spec, handler):
        await asyncio.wait_for(handler.got_good.wait(), 10)
    assert handler.accepted == [{"ok": True, "n": 7}]
