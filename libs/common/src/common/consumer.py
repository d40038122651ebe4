"""A batching RabbitMQ consumer: manual ack after the handler's commit, dead-lettering with a reason, drain on stop."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from prometheus_client import Counter

from common.amqp import REJECTION_REASON_HEADER, QueueSpec, Topology, declare_topology

log = structlog.get_logger(__name__)

MESSAGES_CONSUMED = Counter("amqp_messages_consumed_total", "Messages handled", ["queue", "outcome"])


@dataclass(frozen=True)
class Delivery:
    """What a handler sees of a message: no aio-pika types cross this line."""

    body: bytes
    message_id: str | None
    redelivered: bool


@dataclass(frozen=True)
class Rejected:
    """The handler will never accept this message: dead-letter it with `reason`."""

    reason: str


Outcome = Rejected | None  # None: accepted
BatchHandler = Callable[[Sequence[Delivery]], Awaitable[Sequence[Outcome]]]


class BatchConsumer:
    """Consumes one queue, handing the handler batches of up to `max_batch` messages.

    The handler persists the batch in one transaction and returns one outcome per message;
    only then are messages acked (or dead-lettered with `x-rejection-reason`). If the handler
    raises, the batch is returned to the queue unacked.
    """

    def __init__(
        self,
        connection: AbstractRobustConnection,
        topology: Topology,
        queue: QueueSpec,
        handler: BatchHandler,
        *,
        prefetch: int = 200,
        max_batch: int = 100,
        max_wait_s: float = 0.05,
        drain_timeout_s: float = 20.0,
    ) -> None:
        self._connection = connection
        self._topology = topology
        self._spec = queue
        self._handler = handler
        self._prefetch = prefetch
        self._max_batch = max_batch
        self._max_wait_s = max_wait_s
        self._drain_timeout_s = drain_timeout_s
        self._pending: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._worker: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def __aenter__(self) -> BatchConsumer:
        self._channel = await self._connection.channel(publisher_confirms=True)
        await self._channel.set_qos(prefetch_count=self._prefetch)
        await declare_topology(self._channel, self._topology)
        self._queue = await self._channel.get_queue(self._spec.name, ensure=True)
        self._worker = asyncio.create_task(self._work(), name=f"consumer:{self._spec.name}")
        self._consumer_tag = await self._queue.consume(self._pending.put)
        log.info("consumer_started", queue=self._spec.name, prefetch=self._prefetch)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.drain()

    async def drain(self) -> None:
        """Stop taking messages, finish the batch in hand, return the rest to the queue."""
        if self._queue is not None and self._consumer_tag is not None:
            with contextlib.suppress(Exception):
                await self._queue.cancel(self._consumer_tag)
            self._consumer_tag = None
        self._stopping.set()
        if self._worker is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._worker), self._drain_timeout_s)
            except TimeoutError:
                log.warning("consumer_drain_timed_out", queue=self._spec.name)
                self._worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._worker
            self._worker = None
        if self._channel is not None and not self._channel.is_closed:
            # closing the channel returns every unacked message to the queue
            await self._channel.close()
        log.info("consumer_drained", queue=self._spec.name)

    async def _next_batch(self) -> list[AbstractIncomingMessage]:
        batch: list[AbstractIncomingMessage] = []
        while not batch:
            if self._stopping.is_set() and self._pending.empty():
                return batch
            try:
                batch.append(await asyncio.wait_for(self._pending.get(), 0.2))
            except TimeoutError:
                continue
        deadline = asyncio.get_running_loop().time() + self._max_wait_s
        while len(batch) < self._max_batch:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._pending.get(), remaining))
            except TimeoutError:
                break
        return batch

    async def _work(self) -> None:
        while True:
            batch = await self._next_batch()
            if not batch:
                return
            await self._handle(batch)

    async def _handle(self, batch: list[AbstractIncomingMessage]) -> None:
        deliveries = [Delivery(m.body, m.message_id, bool(m.redelivered)) for m in batch]
        try:
            outcomes = await self._handler(deliveries)
        except Exception:
            log.exception("batch_handler_failed", queue=self._spec.name, size=len(batch))
            await self._settle(batch, lambda m: m.nack(requeue=True))
            MESSAGES_CONSUMED.labels(self._spec.name, "requeued").inc(len(batch))
            return
        accepted = [m for m, outcome in zip(batch, outcomes, strict=True) if outcome is None]
        # Dead letters first: the multiple-ack below covers every earlier delivery tag, so a
        # rejected message must already be republished (or requeued) before it.
        for message, outcome in zip(batch, outcomes, strict=True):
            if outcome is not None:
                await self._settle([message], functools.partial(self._dead_letter, reason=outcome.reason))
                MESSAGES_CONSUMED.labels(self._spec.name, "rejected").inc()
        if accepted:
            # one ack for the whole batch: deliveries arrive in tag order on this channel
            await self._settle(accepted[-1:], lambda m: m.ack(multiple=True))
            MESSAGES_CONSUMED.labels(self._spec.name, "accepted").inc(len(accepted))

    async def _settle(
        self,
        messages: list[AbstractIncomingMessage],
        action: Callable[[AbstractIncomingMessage], Awaitable[None]],
    ) -> None:
        # A channel lost after the commit cannot ack: the broker redelivers and the
        # idempotent handler recognises the message, so nothing is lost or doubled.
        for message in messages:
            try:
                await action(message)
            except Exception as error:  # noqa: BLE001 - any channel failure means "redelivered later"
                log.warning("message_settle_failed", queue=self._spec.name, error=type(error).__name__)

    async def _dead_letter(self, message: AbstractIncomingMessage, reason: str) -> None:
        """Republish to the DLX with the reason header, confirmed, then ack the original."""
        assert self._channel is not None
        headers = dict(message.headers or {})
        headers[REJECTION_REASON_HEADER] = reason[:1000]
        dlx = await self._channel.get_exchange(self._topology.dead_letter_exchange, ensure=False)
        try:
            await dlx.publish(
                aio_pika.Message(
                    message.body,
                    headers=headers,
                    content_type=message.content_type,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=message.message_id,
                    type=message.type,
                    # when it was dead-lettered: `connector dlq` shows and filters on this age
                    timestamp=datetime.now(UTC),
                ),
                routing_key=self._spec.name,
            )
        except Exception:
            # not dead-lettered: hand it back before a later multiple-ack could cover it
            await message.nack(requeue=True)
            raise
        await message.ack()
        log.warning(
            "message_dead_lettered", queue=self._spec.name, message_id=message.message_id, reason=reason
        )
