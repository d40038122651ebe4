"""The machine's own ceilings, measured in the same run: raw aio-pika, raw asyncpg, raw aiohttp."""

from __future__ import annotations

import asyncio
import uuid

import aio_pika
import asyncpg
from aiohttp import ClientSession, web
from bigcommerce_sandbox.runner import run_sandbox

from bench.harness import BenchEnv, StageResult, Stopwatch


async def publish_with_confirms(env: BenchEnv) -> StageResult:
    """Persistent messages published with publisher confirms, up to 100 in flight."""
    count = env.scale * 5
    connection = await aio_pika.connect_robust(env.amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(f"bench.raw.{uuid.uuid4().hex[:8]}", auto_delete=True)
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, "raw")
        body = b'{"event_type": "OrderDespatched", "padding": "' + b"x" * 400 + b'"}'
        window = asyncio.Semaphore(100)

        async def one() -> None:
            async with window:
                await exchange.publish(
                    aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT), "raw"
                )

        with Stopwatch() as sw:
            await asyncio.gather(*(one() for _ in range(count)))
        await queue.delete(if_unused=False, if_empty=False)
    finally:
        await connection.close()
    return StageResult("baseline: aio-pika publish (confirms)", count, sw.seconds)


async def consume_and_ack(env: BenchEnv) -> StageResult:
    """Messages consumed with manual ack, prefetch 200."""
    count = env.scale * 5
    connection = await aio_pika.connect_robust(env.amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=False)
        queue = await channel.declare_queue(exclusive=True)
        for _ in range(count):
            await channel.default_exchange.publish(aio_pika.Message(b"{}"), queue.name)
        await channel.set_qos(prefetch_count=200)
        done = asyncio.Event()
        seen = 0

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal seen
            await message.ack()
            seen += 1
            if seen == count:
                done.set()

        with Stopwatch() as sw:
            await queue.consume(on_message)
            await done.wait()
    finally:
        await connection.close()
    return StageResult("baseline: aio-pika consume + ack", count, sw.seconds)


async def batched_insert(env: BenchEnv) -> StageResult:
    """Rows inserted with executemany in transactions of 100."""
    count = env.scale * 5
    async with env.database() as url:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("CREATE TABLE bench_rows (id uuid PRIMARY KEY, order_id bigint, body text)")
            rows = [(uuid.uuid4(), n, "x" * 200) for n in range(count)]
            with Stopwatch() as sw:
                for start in range(0, count, 100):
                    async with conn.transaction():
                        await conn.executemany(
                            "INSERT INTO bench_rows VALUES ($1, $2, $3)", rows[start : start + 100]
                        )
        finally:
            await conn.close()
    return StageResult("baseline: asyncpg batched insert", count, sw.seconds)


async def http_round_trips(env: BenchEnv) -> StageResult:
    """GETs of a small JSON body from a local aiohttp server, 10 in flight."""
    count = env.scale * 2

    async def handler(_: web.Request) -> web.Response:
        return web.json_response({"id": 1, "status_id": 9})

    app = web.Application()
    app.router.add_get("/x", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    window = asyncio.Semaphore(10)
    try:
        async with ClientSession() as session:

            async def one() -> None:
                async with window, session.get(f"http://127.0.0.1:{port}/x") as response:
                    await response.read()

            with Stopwatch() as sw:
                await asyncio.gather(*(one() for _ in range(count)))
    finally:
        await runner.cleanup()
    return StageResult("baseline: aiohttp GET (local)", count, sw.seconds)


BASELINES = (publish_with_confirms, consume_and_ack, batched_insert, http_round_trips)


async def sandbox_round_trips(env: BenchEnv, items: int, requests_per_item: float) -> StageResult:
    """Raw aiohttp GETs of an order from the sandbox, `requests_per_item` per item, 8 in flight.

    The baseline of a stage that makes that many BigCommerce requests per item against the same
    sandbox: the ratio then shows what the connector adds beyond the requests it must make.
    """
    requests = max(200, round(items * requests_per_item))
    async with run_sandbox() as sandbox:
        store = sandbox.create_store(rate_quota=10_000_000)
        order = sandbox.add_order(store.hash)
        headers = {"X-Auth-Token": sandbox.issue_token(store.hash), "Accept": "application/json"}
        url = f"{sandbox.api_url}/stores/{store.hash}/v2/orders/{order.id}"
        window = asyncio.Semaphore(8)
        async with ClientSession(headers=headers) as session:

            async def one() -> None:
                async with window, session.get(url) as response:
                    await response.read()
                    response.raise_for_status()

            with Stopwatch() as sw:
                await asyncio.gather(*(one() for _ in range(requests)))
    return StageResult(
        f"baseline: aiohttp, {requests_per_item:.2f} sandbox GETs/item",
        round(requests / requests_per_item),
        sw.seconds,
        api_calls=requests,
    )
