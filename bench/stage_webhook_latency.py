"""Webhook -> OrderDownloaded: a new order's status webhook through the real gateway, poller and relay.

The sandbox fires the webhooks BigCommerce fires for a new order (`store/order/created`, then
`store/order/statusUpdated` to Awaiting Shipment) to the gateway's `POST /bigcommerce/webhooks`, with
the custom header the gateway registered; the poller (its own process, production settings) downloads
the order and its outbox relay publishes `OrderDownloaded`; a RabbitMQ consumer takes the time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import aio_pika
from bigcommerce_sandbox.builders import LineSpec
from bigcommerce_sandbox.runner import run_sandbox
from common.bigcommerce.statuses import AWAITING_SHIPMENT
from common.crypto import TokenCipher, generate_key
from common.db.pool import open_pool

from bench.harness import BenchEnv, Figure, Row
from bench.measure import percentile
from bench.rig import (
    ServiceProcess,
    connect_store,
    poller_environment,
    run_gateway,
    subscribe_gateway,
    wait_for_value,
)

GOAL_P95_S = 5.0
ARRIVAL_GAP_S = 0.5  # one new order every half second, across the stores
# Orders go round the stores: one store's quota (150 requests per 30 s) is the busy-store stage's
# subject; here one store gets an order every 4 s, so the time measured is the pipeline's own.
STORES = 8
WAIT_FOR_LAST_S = 60.0
POLLED = f"SELECT count(*) >= {STORES} FROM channels WHERE last_download_at IS NOT NULL"


async def run(env: BenchEnv) -> list[Row]:
    orders = max(10, env.scale // 25)
    key = generate_key()
    cipher = TokenCipher([key])
    exchange_name = env.topology().exchange
    async with env.database() as dsn, open_pool(dsn) as pool, run_sandbox() as sandbox:
        stores = [await connect_store(pool, sandbox, cipher, f"latency{n}") for n in range(STORES)]
        connection = await aio_pika.connect_robust(env.amqp_url)
        try:
            channel = await connection.channel()
            exchange = await channel.declare_exchange(
                exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
            )
            queue = await channel.declare_queue(exclusive=True)
            await queue.bind(exchange, "bigcommerce.order.downloaded")
            sent: dict[tuple[str, int], float] = {}
            latencies: dict[tuple[str, int], float] = {}
            all_in = asyncio.Event()

            async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
                async with message.process():
                    body = json.loads(message.body)
                    order = (body["store_hash"], body["order"]["order_id"])
                    if order in sent and order not in latencies:
                        latencies[order] = time.perf_counter() - sent[order]
                        if len(latencies) == orders:
                            all_in.set()

            tag = await queue.consume(on_message)
            async with run_gateway(env, dsn, key, exchange_name) as gateway_url:
                for store in stores:
                    subscribe_gateway(sandbox, store, gateway_url)
                environment = poller_environment(env, dsn, key, sandbox.api_url, exchange_name)
                async with ServiceProcess("order_poller", environment):
                    # the first poll (a new channel is due at once) finds an empty store
                    await wait_for_value(pool, POLLED, WAIT_FOR_LAST_S)
                    for n in range(orders):
                        store = stores[n % STORES]
                        order = sandbox.add_order(store.hash, [LineSpec(name="Mug")], status_id=0)
                        sent[store.hash, order.id] = time.perf_counter()
                        await sandbox.emit(
                            store.hash, "store/order/created", {"type": "order", "id": order.id}
                        )
                        await sandbox.emit_order_status_updated(store.hash, order.id, AWAITING_SHIPMENT)
                        await asyncio.sleep(ARRIVAL_GAP_S)  # orders arrive over time, as in a store
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(all_in.wait(), WAIT_FOR_LAST_S)
            await queue.cancel(tag)
            await queue.delete(if_unused=False, if_empty=False)
        finally:
            await connection.close()
    values = list(latencies.values())
    p50, p95 = percentile(values, 50), percentile(values, 95)
    missing = orders - len(values)
    note = (
        f"{orders} orders over {STORES} stores, one every {ARRIVAL_GAP_S} s; "
        "time from the webhook POST to the consumer's delivery"
    )
    if missing:
        note += f"; {missing} not downloaded within {WAIT_FOR_LAST_S:.0f} s"
    return [
        Figure(
            "webhook -> OrderDownloaded p50 / p95",
            f"{p50:.2f} s / {p95:.2f} s",
            goal=f"p95 < {GOAL_P95_S:.0f} s",
            met=p95 < GOAL_P95_S and not missing,
            note=note,
        )
    ]
