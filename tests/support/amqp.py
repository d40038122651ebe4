"""RabbitMQ helpers for tests: reading a queue with a deadline and removing a test's topology."""

from __future__ import annotations

import asyncio
import contextlib

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from common.amqp import Topology


async def delete_topology(connection: AbstractRobustConnection, topology: Topology) -> None:
    channel = await connection.channel()
    try:
        for spec in topology.queues:
            for name in (spec.name, spec.dlq_name):
                with contextlib.suppress(Exception):
                    await channel.queue_delete(name)
                if channel.is_closed:
                    channel = await connection.channel()
        for name in (topology.exchange, topology.dead_letter_exchange):
            with contextlib.suppress(Exception):
                await channel.exchange_delete(name)
            if channel.is_closed:
                channel = await connection.channel()
    finally:
        if not channel.is_closed:
            await channel.close()


async def bind_probe(
    connection: AbstractRobustConnection, exchange: str, routing_key: str
) -> aio_pika.abc.AbstractQueue:
    """A private auto-delete queue that receives what is published with `routing_key`."""
    channel = await connection.channel()
    ex = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(ex, routing_key)
    return queue


async def get_messages(
    queue: aio_pika.abc.AbstractQueue, count: int, *, timeout_s: float = 10.0
) -> list[AbstractIncomingMessage]:
    """Read `count` messages, waiting on the broker with a deadline (no fixed sleeps)."""
    received: list[AbstractIncomingMessage] = []
    deadline = asyncio.get_running_loop().time() + timeout_s
    while len(received) < count:
        message = await queue.get(fail=False, no_ack=True)
        if message is not None:
            received.append(message)
            continue
        if asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.02)  # polling the broker, not waiting for time to pass
    return received
