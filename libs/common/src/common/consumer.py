"""A batching RabbitMQ consumer that follows one written failure policy; manual ack after the commit.

| what happened                                              | what the consumer does                          |
| ---------------------------------------------------------- | ----------------------------------------------- |
| handled and committed                                      | ack (one multiple-ack per batch and channel)    |
| a message can never be accepted (handler returns Rejected) | republish to the DLX with `x-rejection-reason`, |
|                                                            | confirmed, then ack it; go on                   |
| a server failed (`common.db.errors.is_server_error`:       | keep the batch in hand unacked, take no more,   |
| database unreachable, connection cut, timeout)             | retry the same batch with capped exponential    |
|                                                            | backoff and full jitter until it succeeds; it   |
|                                                            | never nacks, so it never counts towards the     |
|                                                            | quorum queue's `x-delivery-limit`               |
| the handler raised anything else                           | retry the batch's messages one by one; the one  |
|                                                            | that still raises is nacked with requeue, so    |
|                                                            | only a true poison message reaches the delivery |
|                                                            | limit (and the DLQ); its batch mates are acked  |
| stopping while the server is still down                    | leave the batch unacked: closing the channel    |
|                                                            | returns it to the queue for the next replica    |
"""

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
from prometheus_client import Counter, Gauge

from common.amqp import REJECTION_REASON_HEADER, QueueSpec, Topology, declare_topology
from common.backoff import Backoff, BackoffFactory
from common.db.errors import is_server_error
from common.supervision import finish, spawn
from common.waiting import get_within, wait_for_event

log = structlog.get_logger(__name__)

MESSAGES_CONSUMED = Counter("amqp_messages_consumed_total", "Messages handled", ["queue", "outcome"])
SERVER_WAITS = Counter(
    "amqp_consumer_server_waits_total",
    "Times a batch handler met a server error and the consumer waited to retry the same batch",
    ["queue"],
)
WAITING_FOR_SERVER = Gauge(
    "amqp_consumer_waiting_for_server",
    "1 while the consumer holds a batch and waits for the database to come back",
    ["queue"],
)


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


DeliveryOutcome = Rejected | None  # None: accepted
BatchHandler = Callable[[Sequence[Delivery]], Awaitable[Sequence[DeliveryOutcome]]]


class BatchConsumer:
    """Consumes one queue, handing the handler batches of up to `max_batch` messages.

    The handler persists the batch in one transaction and returns one outcome per message;
    only then are messages acked (or dead-lettered). See the module's policy table for failures.
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
        backoff: BackoffFactory = Backoff,
    ) -> None:
        self._connection = connection
        self._topology = topology
        self._spec = queue
        self._handler = handler
        self._prefetch = prefetch
        self._max_batch = max_batch
        self._max_wait_s = max_wait_s
        self._drain_timeout_s = drain_timeout_s
        self._backoff = backoff
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
        self._worker = spawn(self._work(), name=f"consumer:{self._spec.name}")
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
            except Exception:  # noqa: BLE001, S110 - the worker died: `finish` reports it once
                pass
            await finish(self._worker)
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
            first = await get_within(self._pending, 0.2)
            if first is not None:
                batch.append(first)
        deadline = asyncio.get_running_loop().time() + self._max_wait_s
        while len(batch) < self._max_batch:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            more = await get_within(self._pending, remaining)
            if more is None:
                break
            batch.append(more)
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
            outcomes = await self._outcomes_waiting_out_servers(deliveries)
        except Exception:
            if len(batch) > 1:
                # find the one message at fault instead of requeueing (and counting) its batch mates
                log.warning(
                    "batch_handler_failed_retrying_one_by_one", queue=self._spec.name, size=len(batch)
                )
                for message in batch:
                    await self._handle([message])
                return
            log.exception("message_handler_failed", queue=self._spec.name, message_id=batch[0].message_id)
            await self._settle(batch, lambda m: m.nack(requeue=True))
            MESSAGES_CONSUMED.labels(self._spec.name, "requeued").inc()
            return
        if outcomes is None:
            return  # stopping while the server is down: the channel's close hands the batch back
        await self._settle_outcomes(batch, outcomes)

    async def _outcomes_waiting_out_servers(
        self, deliveries: list[Delivery]
    ) -> Sequence[DeliveryOutcome] | None:
        """The handler's outcomes; on a server error the same batch again after a backoff, until it works.

        None when the consumer is stopping while the server is still failing.
        """
        backoff = self._backoff()
        try:
            while True:
                try:
                    return await self._handler(deliveries)
                except Exception as error:
                    if not is_server_error(error):
                        raise
                    if self._stopping.is_set():
                        log.warning("consumer_gave_batch_back", queue=self._spec.name, size=len(deliveries))
                        return None
                    delay = backoff.next_delay()
                    SERVER_WAITS.labels(self._spec.name).inc()
                    WAITING_FOR_SERVER.labels(self._spec.name).set(1)
                    log.warning(
                        "consumer_waiting_for_server",
                        queue=self._spec.name,
                        size=len(deliveries),
                        error=type(error).__name__,
                        attempt=backoff.attempt,
                        retry_in_s=round(delay, 3),
                    )
                    await wait_for_event(self._stopping, delay)
        finally:
            WAITING_FOR_SERVER.labels(self._spec.name).set(0)

    async def _settle_outcomes(
        self, batch: list[AbstractIncomingMessage], outcomes: Sequence[DeliveryOutcome]
    ) -> None:
        accepted = [m for m, outcome in zip(batch, outcomes, strict=True) if outcome is None]
        # Dead letters first: the multiple-ack below covers every earlier delivery tag, so a
        # rejected message must already be republished (or requeued) before it.
        for message, outcome in zip(batch, outcomes, strict=True):
            if outcome is not None:
                await self._settle([message], functools.partial(self._dead_letter, reason=outcome.reason))
                MESSAGES_CONSUMED.labels(self._spec.name, "rejected").inc()
        if accepted:
            # One ack per channel for the whole batch: deliveries arrive in tag order on a channel. A
            # batch can span a reconnect; the old channel's messages cannot be acked any more and are
            # redelivered, which the idempotent handler recognises.
            last_per_channel = {id(m.channel): m for m in accepted}
            await self._settle(list(last_per_channel.values()), lambda m: m.ack(multiple=True))
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
