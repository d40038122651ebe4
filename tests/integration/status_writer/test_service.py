"""The `status-writer` process end to end: flush at start, ingest from its queue, health, clean stop."""

from __future__ import annotations

import asyncio

import aiohttp
import asyncpg
from aio_pika.abc import AbstractRobustConnection
from common.amqp import EventPublisher, Topology
from prometheus_client import REGISTRY
from pydantic import SecretStr
from status_writer.service import run
from status_writer.settings import WriterSettings

from tests.support.status_writer import despatch, eventually, writer_rig
from tests.support.waiting import free_port


async def test_service_writes_back_ingests_serves_health_and_stops_cleanly(
    pool: asyncpg.Pool,
    database_url: str,
    amqp_url: str,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        waiting, arriving = rig.order(store_hash), rig.order(store_hash)
        await rig.record(despatch(channel_id, store_hash, waiting.id))  # acked before a restart
        port = free_port()
        settings = WriterSettings(
            database_url=SecretStr(database_url),
            amqp_url=SecretStr(amqp_url),
            amqp_exchange=topology.exchange,
            http_port=port,
            bigcommerce_client_id="sandbox-client-id",
            bigcommerce_api_url=rig.sandbox.api_url,
            token_encryption_keys=[SecretStr(rig.key)],
            shutdown_grace_s=5,
        )
        stop = asyncio.Event()
        service = asyncio.create_task(run(settings, stop, queue=topology.queues[0]))

        async def written() -> bool:
            return len(waiting.shipments) == 1

        assert await eventually(written)  # the restarted writer flushes what it had stored

        async with EventPublisher(amqp_connection, topology) as publisher:
            await publisher.publish(despatch(channel_id, store_hash, arriving.id))

        async def ingested() -> bool:
            count: int = await pool.fetchval(
                "SELECT count(*) FROM despatches WHERE order_id = $1", arriving.id
            )
            return count == 1

        assert await eventually(ingested)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                assert response.status == 200
            async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                assert "status_writer_despatches_received_total" in await response.text()

        stop.set()
        await asyncio.wait_for(service, 30)
        assert arriving.shipments == []  # ingested, waiting for the next flush
        state = await pool.fetchval("SELECT state FROM despatches WHERE order_id = $1", arriving.id)
        assert state == "pending"
        assert await pool.fetchval("SELECT count(*) FROM leases") == 0


async def test_a_despatch_arriving_after_a_flush_is_written_by_the_next_one(
    pool: asyncpg.Pool,
    database_url: str,
    amqp_url: str,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        order = rig.order(store_hash)
        settings = WriterSettings(
            database_url=SecretStr(database_url),
            amqp_url=SecretStr(amqp_url),
            amqp_exchange=topology.exchange,
            http_port=free_port(),
            bigcommerce_client_id="sandbox-client-id",
            bigcommerce_api_url=rig.sandbox.api_url,
            token_encryption_keys=[SecretStr(rig.key)],
            flush_interval_seconds=0.5,
            shutdown_grace_s=5,
        )
        stop = asyncio.Event()
        service = asyncio.create_task(run(settings, stop, queue=topology.queues[0]))
        try:

            async def first_flush_done() -> bool:
                return (
                    REGISTRY.get_sample_value("status_writer_flush_duration_seconds_count") != flushes_before
                )

            flushes_before = REGISTRY.get_sample_value("status_writer_flush_duration_seconds_count")
            assert await eventually(first_flush_done)  # the flush at start found nothing to write
            async with EventPublisher(amqp_connection, topology) as publisher:
                await publisher.publish(despatch(channel_id, store_hash, order.id))

            async def written() -> bool:
                return len(order.shipments) == 1 and order.status_id == 10

            assert await eventually(written)  # by a later flush of the loop, not a restart
        finally:
            stop.set()
            await asyncio.wait_for(service, 30)
        state = await pool.fetchval("SELECT state FROM despatches WHERE order_id = $1", order.id)
        assert state == "written"
