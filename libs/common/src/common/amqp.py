"""RabbitMQ on aio-pika: robust connection, idempotent topology, confirmed publishing (CONTRACT §3)."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aio_pika
import aiormq
import structlog
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection

from common.errors import PublishError
from common.events import Event

log = structlog.get_logger(__name__)

REJECTION_REASON_HEADER = "x-rejection-reason"
ORDER_DESPATCHED_QUEUE = "bigcommerce.status-writer.order-despatched"


@dataclass(frozen=True)
class QueueSpec:
    """A durable quorum queue bound to the events exchange, with a `.dlq` sibling on the DLX."""

    name: str
    routing_keys: tuple[str, ...]
    # after this many deliveries the broker dead-letters a message that keeps crashing handlers
    delivery_limit: int = 10

    @property
    def dlq_name(self) -> str:
        return f"{self.name}.dlq"


@dataclass(frozen=True)
class Topology:
    """The exchange, its dead-letter exchange and the queues this process consumes."""

    exchange: str = "clickdrop.events"
    queues: tuple[QueueSpec, ...] = field(default_factory=tuple)

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.exchange}.dlx"


def order_despatched_queue(name: str = ORDER_DESPATCHED_QUEUE) -> QueueSpec:
    """The status writer's queue of `OrderDespatched` events."""
    return QueueSpec(name=name, routing_keys=("order.despatched.bigcommerce",))


@asynccontextmanager
async def open_connection(
    url: str, *, name: str, reconnect_interval_s: float = 1.0
) -> AsyncIterator[AbstractRobustConnection]:
    """A robust connection (reconnects by itself after boot); fails fast if the broker is down now.

    The broker shows it as `name@host:pid`, so an operator (or a test) can tell the replicas apart.
    """
    connection = await aio_pika.connect_robust(
        url,
        client_properties={"connection_name": f"{name}@{socket.gethostname()}:{os.getpid()}"},
        # after a broker restart or a closed connection, try again every second
        reconnect_interval=reconnect_interval_s,
    )
    try:
        yield connection
    finally:
        await connection.close()


async def declare_topology(channel: AbstractChannel, topology: Topology) -> AbstractExchange:
    """Declare exchanges, queues and bindings; safe to repeat (declarations are idempotent)."""
    exchange = await channel.declare_exchange(topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    dlx = await channel.declare_exchange(
        topology.dead_letter_exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    for spec in topology.queues:
        dlq = await channel.declare_queue(spec.dlq_name, durable=True, arguments={"x-queue-type": "quorum"})
        await dlq.bind(dlx, routing_key=spec.name)
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
        for key in spec.routing_keys:
            await queue.bind(exchange, routing_key=key)
    return exchange


class EventPublisher:
    """Publishes events on its own confirming channel; raises `PublishError` unless the broker confirms."""

    def __init__(
        self, connection: AbstractRobustConnection, topology: Topology, *, timeout_s: float = 10.0
    ) -> None:
        self._connection = connection
        self._topology = topology
        self._timeout_s = timeout_s
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None

    async def __aenter__(self) -> EventPublisher:
        # on_return_raises: an unroutable event is an error, not a silent drop
        self._channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        self._exchange = await declare_topology(self._channel, self._topology)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()

    async def publish(self, event: Event, *, correlation_id: str | None = None) -> None:
        """Publish one event with its contract routing key."""
        await self.publish_raw(
            event.to_json(),
            routing_key=event.ROUTING_KEY,
            message_id=str(event.event_id),
            event_type=event.event_type,
            correlation_id=correlation_id,
        )

    async def publish_raw(
        self,
        body: bytes,
        *,
        routing_key: str,
        message_id: str,
        event_type: str,
        correlation_id: str | None = None,
    ) -> None:
        """Publish an already-serialised event (the outbox relay's path)."""
        if self._exchange is None:
            raise PublishError("publisher is not open", reason="connection")
        message = aio_pika.Message(
            body,
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message_id,
            correlation_id=correlation_id,
            type=event_type,
            timestamp=None,
        )
        try:
            await self._exchange.publish(
                message, routing_key=routing_key, mandatory=True, timeout=self._timeout_s
            )
        except aiormq.exceptions.PublishError as error:
            raise PublishError(
                f"event {message_id} was unroutable ({routing_key})", reason="unroutable"
            ) from error
        except aiormq.exceptions.DeliveryError as error:
            raise PublishError(f"broker refused event {message_id}", reason="refused") from error
        except TimeoutError as error:
            raise PublishError(
                f"no confirm for event {message_id} within {self._timeout_s}s", reason="no_confirm"
            ) from error
        except (
            aiormq.exceptions.AMQPError,
            aiormq.exceptions.ChannelInvalidStateError,
            ConnectionError,
        ) as error:
            raise PublishError(
                f"event {message_id} not published: {type(error).__name__}", reason="connection"
            ) from error


async def connection_is_open(connection: AbstractRobustConnection) -> bool:
    """True when the robust connection is currently connected."""
    return not connection.is_closed and connection.connected.is_set()


async def queue_depth(connection: AbstractRobustConnection, queue: str) -> int:
    """Messages ready in `queue`, read with a passive declare (never consumes); 0 when it does not exist yet."""
    channel = await connection.channel()
    try:
        declared = await channel.declare_queue(queue, passive=True)
        return declared.declaration_result.message_count or 0
    except aiormq.exceptions.ChannelNotFoundEntity:
        return 0
    finally:
        if not channel.is_closed:
            await channel.close()
