"""The download-request listener: wakes the poller on NOTIFY, warns on a lost connection, closes quietly on stop."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aio_pika.abc import AbstractRobustConnection
from bigcommerce_sandbox.runner import run_sandbox
from common.amqp import Topology
from common.crypto import generate_key
from order_poller.db import notifications
from order_poller.db.notifications import listen_for_download_requests

from tests.support.amqp import bind_probe
from tests.support.order_poller import DOWNLOADED_KEY
from tests.support.waiting import eventually, free_port

POLLER = Path(sys.executable).parent / "order-poller"

LISTENER_QUERY = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'"
)


class RecordingLog:
    """Stands in for the module's structlog logger: keeps (level, event) pairs."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def _record(self, level: str) -> Any:
        def log(event: str, **_fields: object) -> None:
            self.lines.append((level, event))

        return log

    def __getattr__(self, level: str) -> Any:
        return self._record(level)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> RecordingLog:
    recorder = RecordingLog()
    monkeypatch.setattr(notifications, "log", recorder)
    return recorder


async def settle_callbacks() -> None:
    """Let callbacks asyncpg scheduled with call_soon run (yielding to the loop, not waiting for time)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_leaving_the_listener_closes_its_connection_without_a_warning(
    database_url: str, pool: asyncpg.Pool, recorded: RecordingLog
) -> None:
    woken = asyncio.Event()
    async with listen_for_download_requests(database_url, woken.set):
        await pool.execute("SELECT pg_notify('connector_poll_requested', 'some-channel')")
        await asyncio.wait_for(woken.wait(), 10)  # the listener was live
        assert await pool.fetchval(LISTENER_QUERY) is not None

    await settle_callbacks()

    assert ("warning", "download_request_listener_lost") not in recorded.lines
    assert ("info", "download_request_listener_closed") in recorded.lines


async def test_a_listener_connection_lost_while_running_warns_and_listens_again(
    database_url: str, pool: asyncpg.Pool, recorded: RecordingLog
) -> None:
    wakes: list[str] = []
    async with listen_for_download_requests(database_url, lambda: wakes.append("woken")):

        async def listening_pid() -> bool:
            return await pool.fetchval(LISTENER_QUERY) is not None

        assert await eventually(listening_pid)
        assert await pool.fetchval(f"SELECT pg_terminate_backend(({LISTENER_QUERY}))")

        async def restored() -> bool:
            return ("info", "download_request_listener_restored") in recorded.lines

        assert await eventually(restored)
        assert await eventually(listening_pid)
        woken_before = len(wakes)
        assert woken_before >= 1  # the loss itself makes the poller look at the schedule
        await pool.execute("SELECT pg_notify('connector_poll_requested', 'some-channel')")

        async def woken_again() -> bool:
            return len(wakes) > woken_before

        assert await eventually(woken_again)
    await settle_callbacks()
    assert recorded.lines.count(("warning", "download_request_listener_lost")) == 1


async def test_order_poller_stopped_by_sigterm_logs_no_listener_loss(
    database_url: str,
    pool: asyncpg.Pool,
    amqp_url: str,
    topology: Topology,
    amqp_connection: AbstractRobustConnection,
) -> None:
    port = free_port()
    await bind_probe(amqp_connection, topology.exchange, DOWNLOADED_KEY)
    async with run_sandbox() as sandbox:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "AMQP_URL": amqp_url,
            "AMQP_EXCHANGE": topology.exchange,
            "BIGCOMMERCE_CLIENT_ID": "sandbox-client-id",
            "BIGCOMMERCE_API_URL": sandbox.api_url,
            "TOKEN_ENCRYPTION_KEYS": generate_key(),
            "HTTP_PORT": str(port),
            "LOG_FORMAT": "json",
        }
        process = await asyncio.create_subprocess_exec(
            str(POLLER), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        try:

            async def listening() -> bool:
                return await pool.fetchval(LISTENER_QUERY) is not None

            assert await eventually(listening, timeout_s=20)  # started: its listener is up
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 0
    assert b"service_stopped" in stderr
    assert b"download_request_listener_lost" not in stderr
    assert b"download_request_listener_closed" in stderr
