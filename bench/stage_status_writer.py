"""Status writer stages: ingest of OrderDespatched from RabbitMQ, and a flush to the BigCommerce sandbox."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import aiohttp
import asyncpg
from bigcommerce_sandbox.builders import LineSpec
from bigcommerce_sandbox.models import Order
from bigcommerce_sandbox.runner import run_sandbox
from common.amqp import EventPublisher, open_connection
from common.bigcommerce.client import BigCommerceClient
from common.consumer import BatchConsumer
from common.crypto import TokenCipher, generate_key
from common.db.despatches import NewDespatch, record_despatches
from common.db.pool import open_pool
from common.events import DespatchedItem, OrderDespatched
from common.order_memory import OrderMemory, RememberedConsignment, RememberedItem
from status_writer.flusher import Flusher
from status_writer.ingest import DespatchIngestor
from status_writer.store_flush import FlushPolicy

from bench.harness import BenchEnv, StageResult, Stopwatch

STORES = 10
INSERT_CHANNEL = """
INSERT INTO channels (id, store_hash, status, access_token_encrypted, plan_name)
VALUES ($1, $2, 'active', $3, 'Standard')
"""


# what the poller's record_download keeps of a downloaded order (common.order_memory)
REMEMBER_ORDER = """
INSERT INTO downloaded_orders (store_hash, order_id, channel_id, event_id, date_modified, status_id, consignments)
VALUES ($1, $2, $3, $4, now(), $5, $6)
"""


def _event(
    channel_id: uuid.UUID, store_hash: str, order_id: int, items: list[DespatchedItem] | None = None
) -> OrderDespatched:
    return OrderDespatched(
        channel_id=channel_id,
        store_hash=store_hash,
        order_id=order_id,
        despatched_at=datetime.now(UTC),
        tracking_number=f"TT{order_id:09d}GB",
        service_name="Tracked 48",
        items=items,
    )


def _memory(order: Order) -> OrderMemory:
    """The poller's memory of a just-downloaded single-address sandbox order (every line physical)."""
    return OrderMemory(
        status_id=order.status_id,
        consignments=(
            RememberedConsignment(
                order_address_id=order.lines[0].order_address_id,
                address_sha256="0" * 64,
                items=tuple(
                    RememberedItem(order_product_id=line.id, quantity=line.quantity) for line in order.lines
                ),
            ),
        ),
    )


async def ingest(env: BenchEnv) -> StageResult:
    """Despatches consumed, validated, stored in batches and acked."""
    count = env.scale * 5
    topology = env.topology()
    async with env.database() as url, open_pool(url) as pool:
        channel_id = uuid.uuid4()
        await pool.execute(INSERT_CHANNEL, channel_id, "benchstore", b"unused")
        async with open_connection(env.amqp_url, name="bench:status-writer") as connection:
            async with EventPublisher(connection, topology) as publisher:
                window = asyncio.Semaphore(100)

                async def publish(n: int) -> None:
                    async with window:
                        await publisher.publish(_event(channel_id, "benchstore", n + 1))

                await asyncio.gather(*(publish(n) for n in range(count)))
            async with BatchConsumer(
                connection, topology, topology.queues[0], DespatchIngestor(pool), max_batch=200, prefetch=400
            ):
                # timed until every despatch is committed; the drain on exit is not ingest work
                with Stopwatch() as sw:
                    while True:
                        if await pool.fetchval("SELECT count(*) FROM despatches") >= count:
                            break
                        await asyncio.sleep(0.01)  # polling for completion, not pacing the work
            channel = await connection.channel()
            for spec in topology.queues:
                await channel.queue_delete(spec.name)
                await channel.queue_delete(spec.dlq_name)
            await channel.exchange_delete(topology.exchange)
            await channel.exchange_delete(topology.dead_letter_exchange)
    return StageResult(
        "status writer: ingest OrderDespatched (batched)",
        count,
        sw.seconds,
        baseline="baseline: aio-pika consume + ack",
    )


async def flush(env: BenchEnv, *, items_named: bool) -> StageResult:
    """Despatches of downloaded orders written to the sandbox, stores in parallel.

    Naming its items, a despatch is planned from the download's memory: the shipment POST and the
    status PUT. Naming none ("every item not yet shipped"), the writer reads the order's lines first.
    """
    count = env.scale
    cipher = TokenCipher([generate_key()])
    async with env.database() as url, open_pool(url, max_size=20) as pool, run_sandbox() as sandbox:
        events: list[NewDespatch] = []
        stores: list[str] = []
        for index in range(STORES):
            store = sandbox.create_store(rate_quota=1_000_000)
            stores.append(store.hash)
            channel_id = uuid.uuid4()
            await pool.execute(
                INSERT_CHANNEL, channel_id, store.hash, cipher.encrypt(sandbox.issue_token(store.hash))
            )
            for _ in range(index, count, STORES):
                order = sandbox.add_order(store.hash, [LineSpec(quantity=2), LineSpec()], status_id=9)
                memory = _memory(order)
                await pool.execute(
                    REMEMBER_ORDER,
                    store.hash,
                    order.id,
                    channel_id,
                    uuid.uuid4(),
                    memory.status_id,
                    memory.consignments_column(),
                )
                items = [
                    DespatchedItem(order_product_id=i.order_product_id, quantity=i.quantity)
                    for i in memory.consignments[0].items
                ]
                events.append(
                    NewDespatch(_event(channel_id, store.hash, order.id, items if items_named else None))
                )
        async with pool.acquire() as conn:
            await record_despatches(conn, events)
        async with aiohttp.ClientSession() as session:
            flusher = Flusher(
                pool,
                BigCommerceClient(session, sandbox.api_url),
                cipher,
                policy=FlushPolicy(lease_s=300, backoff_s=60, backoff_max_s=3600),
                concurrency=STORES,
            )
            with Stopwatch() as sw:
                report = await flusher.flush_once()
        calls = sum(len(sandbox.requests(h)) for h in stores)
        written = await _count_written(pool)
    note = "" if written == count else f"only {written} of {count} written"
    return StageResult(
        f"status writer: flush ({STORES} stores), items {'named' if items_named else 'not named'}",
        report.written,
        sw.seconds,
        baseline="baseline: aiohttp GET (local)",
        api_calls=calls,
        note=note,
    )


async def _count_written(pool: asyncpg.Pool) -> int:
    value: int = await pool.fetchval("SELECT count(*) FROM despatches WHERE state = 'written'")
    return value


async def run(env: BenchEnv) -> list[StageResult]:
    return [await ingest(env), await flush(env, items_named=True), await flush(env, items_named=False)]
