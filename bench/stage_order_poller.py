"""The order poller's stages: downloading a store into the outbox, relaying it, and a re-poll with nothing new."""

from __future__ import annotations

import uuid

import aio_pika
import aiohttp
from bigcommerce_sandbox.builders import AddressSpec, LineSpec
from bigcommerce_sandbox.runner import run_sandbox
from common.amqp import EventPublisher, Topology
from common.bigcommerce.client import BigCommerceClient
from common.crypto import TokenCipher, generate_key
from common.db.pool import open_pool
from common.outbox import OutboxRelay
from order_poller.poller import Poller, PollerConfig

from bench.harness import BenchEnv, Figure, Row, StageResult, Stopwatch

INSERT_CHANNEL = """
INSERT INTO channels (id, store_hash, status, trading_name, access_token_encrypted)
VALUES ($1, $2, 'active', 'Bench Shop', $3)
"""


TYPICAL_ORDERS = 20  # awaiting shipment in a store with 20 orders a day (the README's typical store)


async def run(env: BenchEnv) -> list[Row]:
    """Download `env.scale` orders of one store (a tenth multi-address, a tenth with a digital line).

    A typical store with 20 orders is downloaded beside it; both are then polled again on schedule
    with nothing new, which gives the requests of a scheduled poll (listing and change scan).
    """
    cipher = TokenCipher([generate_key()])
    config = PollerConfig(concurrency=8, order_concurrency=8)
    async with env.database() as dsn, open_pool(dsn) as pool, run_sandbox() as sandbox:
        store = sandbox.create_store(rate_quota=10_000_000)
        for index in range(env.scale):
            lines = [LineSpec(name="Mug", quantity=2)]
            addresses = None
            if index % 10 == 1:
                lines.append(LineSpec(name="Pan", address=1))
                addresses = [AddressSpec(), AddressSpec(shipping_method="Royal Mail Tracked 24")]
            if index % 10 == 2:
                lines.append(LineSpec(name="E-book", type="digital"))
            sandbox.add_order(store.hash, lines, addresses=addresses)
        token = sandbox.issue_token(store.hash)
        await pool.execute(INSERT_CHANNEL, uuid.uuid4(), store.hash, cipher.encrypt(token))
        typical = sandbox.create_store(rate_quota=10_000_000)
        for _ in range(TYPICAL_ORDERS):
            sandbox.add_order(typical.hash, [LineSpec(name="Mug")])
        await pool.execute(
            INSERT_CHANNEL, uuid.uuid4(), typical.hash, cipher.encrypt(sandbox.issue_token(typical.hash))
        )

        async with aiohttp.ClientSession() as session:
            client = BigCommerceClient(session, sandbox.api_url)
            with Stopwatch() as download:
                results = await Poller(pool, client, cipher, config).run_once()
            first = next(result for result in results if result.store_hash == store.hash)
            download_calls = len(sandbox.requests(store.hash))
            sandbox.clear_requests()
            # due again at once: the re-poll lists the window and finds everything known
            await pool.execute("UPDATE channels SET next_download_at = NULL")
            with Stopwatch() as repoll:
                await Poller(pool, client, cipher, config).run_once()
            repoll_calls = len(sandbox.requests(store.hash))
            typical_calls = len(sandbox.requests(typical.hash))

        topology = env.topology()
        connection = await aio_pika.connect_robust(env.amqp_url)
        try:
            channel = await connection.channel()
            exchange = await channel.declare_exchange(
                topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True
            )
            queue = await channel.declare_queue(exclusive=True)
            await queue.bind(exchange, "bigcommerce.order.downloaded")
            async with EventPublisher(connection, Topology(exchange=topology.exchange)) as publisher:
                with Stopwatch() as relay:
                    relayed = await OutboxRelay(pool, publisher).run_once()
            await queue.delete(if_unused=False, if_empty=False)
            await exchange.delete()
        finally:
            await connection.close()

    return [
        Figure(
            "requests per scheduled poll, nothing new",
            f"{repoll_calls} / {typical_calls}",
            note=(
                f"a store with {env.scale:,} orders awaiting shipment / a typical store with {TYPICAL_ORDERS}: "
                "listing pages plus the change scan"
            ),
        ),
        StageResult(
            "order poller: download store -> outbox",
            first.report.downloaded,
            download.seconds,
            baseline="baseline: aiohttp GET (local)",
            api_calls=download_calls,
            note="BC calls/item = requests per new order, /v2/store and the listing pages included",
        ),
        StageResult(
            "order poller: outbox relay (confirms)",
            relayed,
            relay.seconds,
            baseline="baseline: aio-pika publish (confirms)",
        ),
        StageResult(
            "order poller: re-poll, nothing new",
            first.report.listed,
            repoll.seconds,
            baseline="baseline: aiohttp GET (local)",
            api_calls=repoll_calls,
        ),
    ]
