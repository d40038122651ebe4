"""The demo's stand-in for Click & Drop's label printing: every downloaded order is despatched a little later."""

from __future__ import annotations

import asyncio
import random
import uuid

import aio_pika
import structlog
from aio_pika.abc import AbstractIncomingMessage
from common.amqp import EventPublisher, Topology, open_connection
from common.events import OrderChanged, OrderDespatched, OrderDownloaded, utc_now
from pydantic import ValidationError

log = structlog.get_logger(__name__)

DEMO_QUEUE = "clickdrop.demo.order-downloaded"
# stands in for Click & Drop's subscriber to channel events and OrderChanged, which the demo only logs
DEMO_CHANNEL_QUEUE = "clickdrop.demo.channel-events"


def royal_mail_tracking_number(rng: random.Random) -> str:
    """A tracking number in Royal Mail's S10 shape (two letters, eight digits, check digit, GB)."""
    digits = [rng.randint(0, 9) for _ in range(8)]
    weights = (8, 6, 4, 2, 3, 5, 9, 7)
    check = 11 - sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
    check = {10: 0, 11: 5}.get(check, check)
    return "TT" + "".join(map(str, digits)) + str(check) + "GB"


def despatch_for(downloaded: OrderDownloaded, rng: random.Random) -> list[OrderDespatched]:
    """One despatch per consignment, as Click & Drop prints one label per address."""
    return [
        OrderDespatched(
            channel_id=downloaded.channel_id,
            store_hash=downloaded.store_hash,
            order_id=downloaded.order.order_id,
            order_address_id=consignment.order_address_id,
            despatched_at=utc_now(),
            tracking_number=royal_mail_tracking_number(rng),
            service_name=rng.choice(["Tracked 24", "Tracked 48", "Special Delivery Guaranteed by 1pm"]),
        )
        for consignment in downloaded.order.consignments
    ]


async def run_demo_despatcher(amqp_url: str, exchange: str, stop: asyncio.Event, *, delay_s: float) -> None:
    rng = random.Random()
    topology = Topology(exchange=exchange)
    async with (
        open_connection(amqp_url, name="demo-despatcher") as connection,
        EventPublisher(connection, topology) as publisher,
    ):
        channel = await connection.channel()
        ex = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(DEMO_QUEUE, durable=True)
        await queue.bind(ex, OrderDownloaded.ROUTING_KEY)

        async def on_message(message: AbstractIncomingMessage) -> None:
            async with message.process(requeue=True):
                try:
                    downloaded = OrderDownloaded.model_validate_json(message.body)
                except ValidationError:
                    return
                log.info("demo_order_received", order_id=downloaded.order.order_id, despatch_in_s=delay_s)
                await asyncio.sleep(delay_s)  # the merchant "prints the label"
                for event in despatch_for(downloaded, rng):
                    await publisher.publish(event, correlation_id=str(uuid.uuid4()))
                    log.info(
                        "demo_order_despatched",
                        order_id=event.order_id,
                        tracking_number=event.tracking_number,
                    )

        channel_queue = await channel.declare_queue(DEMO_CHANNEL_QUEUE, durable=True)
        await channel_queue.bind(ex, "bigcommerce.channel.*")
        # OrderChanged too: Click & Drop would void or reprint the label; the demo only logs it
        await channel_queue.bind(ex, OrderChanged.ROUTING_KEY)

        async def on_channel_event(message: AbstractIncomingMessage) -> None:
            async with message.process():
                log.info("demo_channel_event_received", event_type=message.type)

        await queue.consume(on_message)
        await channel_queue.consume(on_channel_event)
        await stop.wait()
