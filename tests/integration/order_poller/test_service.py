"""The `order-poller` service: health, readiness and metrics, downloading end to end, SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from aio_pika.abc import AbstractRobustConnection
from bigcommerce_sandbox.runner import run_sandbox
from common.amqp import Topology
from common.crypto import TokenCipher, generate_key
from order_poller.__main__ import serve
from order_poller.settings import PollerSettings

from tests.support.amqp import bind_probe
from tests.support.order_poller import DOWNLOADED_KEY, add_channel, received_events
from tests.support.waiting import free_port

POLLER = Path(sys.executable).parent / "order-poller"


async def wait_for(url: str, status: int = 200, timeout_s: float = 20.0) -> str:
    """GET `url` until it answers `status` (the service is starting), with a deadline."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as response:
                    if response.status == status:
                        return await response.text()
            except aiohttp.ClientError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                pytest.fail(f"{url} did not answer {status} in time")
            await asyncio.sleep(0.05)


def environment(
    database_url: str, amqp_url: str, api_url: str, key: str, port: int, exchange: str
) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "AMQP_URL": amqp_url,
        "AMQP_EXCHANGE": exchange,
        "BIGCOMMERCE_CLIENT_ID": "sandbox-client-id",
        "BIGCOMMERCE_API_URL": api_url,
        "TOKEN_ENCRYPTION_KEYS": key,
        "HTTP_PORT": str(port),
        "LOG_FORMAT": "json",
    }


async def test_service_downloads_serves_health_and_stops_cleanly(
    pool: asyncpg.Pool,
    database_url: str,
    amqp_url: str,
    topology: Topology,
    amqp_connection: AbstractRobustConnection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = generate_key()
    port = free_port()
    probe = await bind_probe(amqp_connection, topology.exchange, DOWNLOADED_KEY)
    async with run_sandbox() as sandbox:
        store = sandbox.create_store(rate_quota=10_000)
        order = sandbox.add_order(store.hash)
        channel_id = await add_channel(pool, TokenCipher([key]), store.hash, sandbox.issue_token(store.hash))
        for name, value in environment(
            database_url, amqp_url, sandbox.api_url, key, port, topology.exchange
        ).items():
            monkeypatch.setenv(name, value)
        settings = PollerSettings()
        stop = asyncio.Event()
        service = asyncio.create_task(serve(settings, stop))
        try:
            assert "ok" in await wait_for(f"http://127.0.0.1:{port}/healthz")
            await wait_for(f"http://127.0.0.1:{port}/readyz")
            (event,) = await received_events(probe, 1)
            assert (event.channel_id, event.order.order_id) == (channel_id, order.id)
            metrics = await wait_for(f"http://127.0.0.1:{port}/metrics")
            assert "order_poller_orders_downloaded_total" in metrics
            assert "bigcommerce_requests_total" in metrics
            assert "outbox_lag_seconds" in metrics
        finally:
            stop.set()
            await asyncio.wait_for(service, 30)
    owner = await pool.fetchval("SELECT poll_lease_owner FROM channels WHERE id = $1", channel_id)
    assert owner is None


async def test_order_poller_command_stops_on_sigterm(
    database_url: str, amqp_url: str, topology: Topology, amqp_connection: AbstractRobustConnection
) -> None:
    port = free_port()
    await bind_probe(amqp_connection, topology.exchange, DOWNLOADED_KEY)
    async with run_sandbox() as sandbox:
        env = {
            **os.environ,
            **environment(database_url, amqp_url, sandbox.api_url, generate_key(), port, topology.exchange),
        }
        process = await asyncio.create_subprocess_exec(
            str(POLLER), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        try:
            await wait_for(f"http://127.0.0.1:{port}/readyz")
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 0
    assert b"service_stopped" in stderr


async def test_order_poller_command_refuses_a_bad_setting_with_one_line() -> None:
    env = {**os.environ, "BIGCOMMERCE_CLIENT_ID": "id"}
    env.update(TOKEN_ENCRYPTION_KEYS=generate_key(), POLL_INTERVAL_MIN_SECONDS="901")
    process = await asyncio.create_subprocess_exec(
        str(POLLER), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1
    assert "POLL_INTERVAL_MAX_SECONDS" in lines[0]
