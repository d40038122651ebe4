"""The gauges the alerts read, computed from real PostgreSQL and RabbitMQ when /metrics is scraped."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import aio_pika
import aiohttp
import asyncpg
import pytest
from aio_pika.abc import AbstractRobustConnection
from common.amqp import QueueSpec, Topology, connection_is_open, declare_topology
from common.health import Health, dependency_health, serve_health
from common.operational_metrics import channel_statuses, dead_letter_depth, overdue_stores, pending_despatches
from prometheus_client.parser import text_string_to_metric_families

from tests.support.amqp import delete_topology
from tests.support.waiting import free_port

INSERT_CHANNEL = """
INSERT INTO channels (id, store_hash, status, last_download_at, connected_at, created_at)
VALUES ($1, $2, $3, now() - $4 * interval '1 second', now() - interval '30 days', now() - interval '30 days')
"""
INSERT_DESPATCH = """
INSERT INTO despatches (event_id, channel_id, store_hash, order_id, despatched_at, dedupe_key, state, created_at)
VALUES ($1, $2, $3, $4, now(), $5, $6, now() - $7 * interval '1 second')
"""


async def add_channel(pool: asyncpg.Pool, status: str, *, downloaded_s_ago: float | None = 60) -> uuid.UUID:
    channel_id = uuid.uuid4()
    await pool.execute(INSERT_CHANNEL, channel_id, f"s{channel_id.hex[:8]}", status, downloaded_s_ago)
    return channel_id


async def add_despatch(pool: asyncpg.Pool, channel_id: uuid.UUID, state: str, age_s: float) -> None:
    store = await pool.fetchval("SELECT store_hash FROM channels WHERE id = $1", channel_id)
    await pool.execute(INSERT_DESPATCH, uuid.uuid4(), channel_id, store, 1, uuid.uuid4().hex, state, age_s)


async def scrape(health: Health) -> dict[str, float]:
    """Serve the health routes, GET /metrics once, and return every sample by name{labels}."""
    port = free_port()
    async with (
        serve_health(port, health, host="127.0.0.1"),
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        assert response.status == 200
        text = await response.text()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[sample.name + (f"{{{labels}}}" if labels else "")] = sample.value
    return samples


@pytest.fixture
async def dlq_spec(amqp_connection: AbstractRobustConnection) -> AsyncIterator[QueueSpec]:
    prefix = f"test.{uuid.uuid4().hex[:10]}"
    spec = QueueSpec(name=f"{prefix}.order-despatched", routing_keys=("order.despatched.bigcommerce",))
    topology = Topology(exchange=f"{prefix}.events", queues=(spec,))
    channel = await amqp_connection.channel()
    await declare_topology(channel, topology)
    await channel.close()
    try:
        yield spec
    finally:
        await delete_topology(amqp_connection, topology)


async def test_channels_by_status_include_every_status(
    pool: asyncpg.Pool, amqp_connection: AbstractRobustConnection
) -> None:
    for status in ("active", "active", "reauthorization_required", "disconnected"):
        await add_channel(pool, status)
    health = dependency_health(pool, amqp_connection)
    health.refreshers.append(channel_statuses(pool))
    samples = await scrape(health)
    assert samples['connector_channels{status="active"}'] == 2
    assert samples['connector_channels{status="reauthorization_required"}'] == 1
    assert samples['connector_channels{status="disconnected"}'] == 1
    assert samples['connector_channels{status="pending"}'] == 0  # present, so an alert can read it


async def test_overdue_counts_active_stores_without_a_clean_poll_for_three_intervals(
    pool: asyncpg.Pool, amqp_connection: AbstractRobustConnection
) -> None:
    interval_s = 900.0
    await add_channel(pool, "active", downloaded_s_ago=60)  # on schedule
    await add_channel(pool, "active", downloaded_s_ago=3 * interval_s + 60)  # overdue
    await add_channel(pool, "active", downloaded_s_ago=None)  # never polled since connecting 30 days ago
    await add_channel(pool, "reauthorization_required", downloaded_s_ago=10 * interval_s)  # its own alert
    health = dependency_health(pool, amqp_connection)
    health.refreshers.append(overdue_stores(pool, interval_s))
    assert (await scrape(health))["order_poller_stores_overdue"] == 2


async def test_oldest_pending_despatch_of_active_stores(
    pool: asyncpg.Pool, amqp_connection: AbstractRobustConnection
) -> None:
    health = dependency_health(pool, amqp_connection)
    health.refreshers.append(pending_despatches(pool, 1800))
    samples = await scrape(health)
    assert samples["status_writer_oldest_pending_despatch_seconds"] == 0
    assert samples["status_writer_flush_interval_seconds"] == 1800
    active = await add_channel(pool, "active")
    waiting = await add_channel(pool, "reauthorization_required")
    await add_despatch(pool, active, "written", 9000)
    await add_despatch(pool, active, "pending", 4000)
    await add_despatch(pool, active, "posting", 100)
    await add_despatch(pool, waiting, "pending", 90000)
    age = (await scrape(health))["status_writer_oldest_pending_despatch_seconds"]
    assert 4000 <= age < 4100


async def test_dead_letter_depth_is_read_without_consuming(
    pool: asyncpg.Pool, amqp_connection: AbstractRobustConnection, dlq_spec: QueueSpec
) -> None:
    health = dependency_health(pool, amqp_connection)
    health.refreshers.append(dead_letter_depth(amqp_connection, dlq_spec.dlq_name))
    channel = await amqp_connection.channel(publisher_confirms=True)
    for n in range(3):
        await channel.default_exchange.publish(
            aio_pika.Message(str(n).encode()), routing_key=dlq_spec.dlq_name
        )
    await channel.close()
    key = f'amqp_dead_letter_messages{{queue="{dlq_spec.dlq_name}"}}'
    assert (await scrape(health))[key] == 3
    assert (await scrape(health))[key] == 3  # a scrape takes nothing


async def test_a_dead_letter_queue_not_declared_yet_counts_zero(
    pool: asyncpg.Pool, amqp_connection: AbstractRobustConnection
) -> None:
    missing = f"never-declared-{uuid.uuid4().hex[:8]}.dlq"
    health = dependency_health(pool, amqp_connection)
    health.refreshers.append(dead_letter_depth(amqp_connection, missing))
    assert (await scrape(health))[f'amqp_dead_letter_messages{{queue="{missing}"}}'] == 0
    assert await connection_is_open(amqp_connection)  # the refused passive declare closed only its channel


async def test_ready_gauge_and_a_failing_source_never_break_the_scrape(
    pool: asyncpg.Pool, amqp_connection: AbstractRobustConnection
) -> None:
    health = dependency_health(pool, amqp_connection)

    async def broken() -> None:
        raise asyncpg.PostgresConnectionError("database gone")

    health.refreshers += [broken, channel_statuses(pool)]
    assert (await scrape(health))["connector_ready"] == 0  # not ready until the service says so
    health.ready = True
    await add_channel(pool, "active")
    samples = await scrape(health)
    assert samples["connector_ready"] == 1
    assert samples['connector_channels{status="active"}'] == 1  # the refreshers after a failure still ran
