"""`make run` restarted twice in a row: the same store, the same grant, and orders keep flowing both ways."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from aio_pika.abc import AbstractRobustConnection
from common.amqp import Topology

from tests.integration.demo.demo_run import DemoRun
from tests.integration.e2e.rig import delete_contract_queues, wait_until

DEMO_QUEUES = ("clickdrop.demo.order-downloaded", "clickdrop.demo.channel-events")
COMPLETED = 10


@pytest.fixture
async def demo(
    tmp_path: Path,
    database_url: str,
    amqp_url: str,
    topology: Topology,
    amqp_connection: AbstractRobustConnection,
) -> AsyncIterator[DemoRun]:
    await delete_contract_queues(amqp_connection, leftovers_only=True)
    env = {
        "DATABASE_URL": database_url,
        "AMQP_URL": amqp_url,
        "AMQP_EXCHANGE": topology.exchange,
        "POLL_INTERVAL_MIN_SECONDS": "1",
        "POLL_INTERVAL_MAX_SECONDS": "2",
        "LOG_FORMAT": "json",
    }
    async with aiohttp.ClientSession() as http:
        run = DemoRun(folder=tmp_path, env=env, http=http)
        try:
            yield run
        finally:
            await run.kill()
            await delete_contract_queues(amqp_connection, leftovers_only=False)
            channel = await amqp_connection.channel()
            for name in DEMO_QUEUES:
                await channel.queue_delete(name)
            await channel.close()


async def _install_and_activate(demo: DemoRun) -> tuple[str, str]:
    """Install from the marketplace as the merchant does, then "Update and activate" through the API."""
    (store_hash,) = demo.state["stores"]
    async with demo.http.post(
        f"{demo.sandbox_url}/marketplace/install", data={"store": store_hash}, allow_redirects=False
    ) as response:
        assert response.status == 302
        callback = response.headers["Location"]
    assert callback.startswith(f"{demo.gateway_url}/bigcommerce/auth?")
    async with demo.http.get(callback) as response:
        assert response.status == 200
        assert "App installed" in await response.text()
    status, channels = await demo.api("GET", "/api/v1/channels")
    assert status == 200
    (channel,) = channels
    status, activated = await demo.api(
        "POST", f"/api/v1/channels/{channel['id']}/activate", {"trading_name": "Demo"}
    )
    assert (status, activated["status"]) == (200, "active"), activated
    return store_hash, channel["id"]


async def _count(pool: asyncpg.Pool, sql: str, *args: object) -> int:
    value = await pool.fetchval(sql, *args)
    return int(value or 0)


async def _order_page(demo: DemoRun, store_hash: str, order_id: int) -> str:
    async with demo.http.get(
        f"{demo.sandbox_url}/manage/orders/{order_id}", params={"store": store_hash}
    ) as response:
        assert response.status == 200
        return await response.text()


async def _restart_and_check(demo: DemoRun, pool: asyncpg.Pool, store_hash: str, channel_id: str) -> None:
    """Restart; what was pending is written, orders created after the restart download, ids go on."""
    last_order_id = max(int(i) for i in demo.state["stores"][store_hash]["orders"])
    waiting = [
        r["order_id"]
        for r in await pool.fetch("SELECT DISTINCT order_id FROM despatches WHERE state <> 'written'")
    ]
    await demo.start(FLUSH_INTERVAL_SECONDS="1")

    async def downloaded_after_restart() -> bool:
        return (
            await _count(pool, "SELECT count(*) FROM downloaded_orders WHERE order_id > $1", last_order_id)
            > 0
        )

    await wait_until(downloaded_after_restart, "an order created after the restart downloaded", timeout_s=30)

    async def left_over_written() -> bool:
        return not await _count(
            pool, "SELECT count(*) FROM despatches WHERE order_id = ANY($1) AND state <> 'written'", waiting
        )

    await wait_until(
        left_over_written, f"the despatches left over from the last run ({waiting}) written", timeout_s=30
    )
    for order_id in waiting:
        page = await _order_page(demo, store_hash, order_id)
        assert re.search(r'class="status status-completed">Completed<', page), order_id
    status, channel = await demo.api("GET", f"/api/v1/channels/{channel_id}")
    assert (status, channel["status"], channel["last_error"]) == (200, "active", None)


async def test_restarting_make_run_twice_keeps_orders_flowing(demo: DemoRun, pool: asyncpg.Pool) -> None:
    # first run: the writer's first flush is at start, the next an hour later, so despatches wait
    await demo.start(FLUSH_INTERVAL_SECONDS="3600")
    store_hash, channel_id = await _install_and_activate(demo)

    async def despatched() -> bool:
        return await _count(pool, "SELECT count(*) FROM despatches WHERE state = 'pending'") >= 2

    await wait_until(despatched, "orders downloaded and despatched in Click & Drop", timeout_s=30)
    assert await demo.stop() == 0

    await _restart_and_check(demo, pool, store_hash, channel_id)
    assert await demo.stop() == 0
    await _restart_and_check(demo, pool, store_hash, channel_id)
    assert await demo.stop() == 0

    # one channel all along, nothing BigCommerce refused, no download skipped for a missing order
    assert await _count(pool, "SELECT count(*) FROM channels") == 1
    assert await _count(pool, "SELECT count(*) FROM despatches WHERE state = 'failed'") == 0
    assert await _count(pool, "SELECT count(*) FROM skipped_orders WHERE reason = 'not_found'") == 0
    assert uuid.UUID(channel_id)
