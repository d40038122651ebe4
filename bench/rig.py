"""The real services run for the end-to-end stages: the poller as its own process, the gateway's app, stores.

The poller runs as a separate process (`python -m order_poller`, configured by its environment as in
production) so that its CPU can be read from /proc apart from the sandbox's and the benchmark's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import aio_pika
import aiohttp
import asyncpg
from aiohttp import web
from auth_gateway.app import create_app
from auth_gateway.context import secret_digest
from auth_gateway.settings import GatewaySettings
from auth_gateway.webhook_registration import WEBHOOK_HEADER
from bigcommerce_sandbox.models import Hook
from bigcommerce_sandbox.sandbox import Sandbox
from common.crypto import TokenCipher
from common.db.despatches import NewDespatch
from common.events import OrderDespatched
from status_writer.service import run as run_writer
from status_writer.settings import WriterSettings

from bench.harness import BenchEnv
from bench.measure import process_cpu_seconds

INSERT_CHANNEL = """
INSERT INTO channels (id, store_hash, status, store_name, trading_name, access_token_encrypted,
                      webhook_secret_encrypted, webhook_secret_sha256, plan_name)
VALUES ($1, $2, 'active', 'Bench', 'Bench Shop', $3, $4, $5, 'Standard')
"""

# Channels that exist, active, but are not due while a stage runs: the poller's claim and due-time
# queries then meet a table of production size without the sandbox serving those stores.
INSERT_IDLE_CHANNELS = """
INSERT INTO channels (id, store_hash, status, trading_name, access_token_encrypted, plan_name,
                      next_download_at, last_download_at)
SELECT gen_random_uuid(), 'idle' || n, 'active', 'Idle', $1, 'Standard',
       now() + interval '1 day' + n * interval '1 ms', now()
  FROM generate_series(1, $2) AS n
"""

READY_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Store:
    """A sandbox store connected as an active channel."""

    hash: str
    channel_id: uuid.UUID
    webhook_secret: str


async def connect_store(
    pool: asyncpg.Pool, sandbox: Sandbox, cipher: TokenCipher, store_hash: str, **store_options: object
) -> Store:
    """A sandbox store, its token, and an active channel for it (as an install would leave it)."""
    sandbox.create_store(store_hash, **store_options)  # type: ignore[arg-type]  # the sandbox's keywords
    secret = uuid.uuid4().hex
    channel_id = uuid.uuid4()
    await pool.execute(
        INSERT_CHANNEL,
        channel_id,
        store_hash,
        cipher.encrypt(sandbox.issue_token(store_hash)),
        cipher.encrypt(secret),
        secret_digest(secret),
    )
    return Store(store_hash, channel_id, secret)


async def add_idle_channels(pool: asyncpg.Pool, cipher: TokenCipher, count: int) -> None:
    if count > 0:
        await pool.execute(INSERT_IDLE_CHANNELS, cipher.encrypt("never-sent"), count)


def subscribe_gateway(sandbox: Sandbox, store: Store, gateway_url: str) -> None:
    """The hooks the gateway registers at install: BigCommerce then POSTs with the channel's secret header."""
    for scope in ("store/order/statusUpdated", "store/order/created"):
        now = int(sandbox.clock())
        hook = Hook(
            id=sandbox.next_hook_id,
            client_id=sandbox.config.client_id,
            store_hash=store.hash,
            scope=scope,
            destination=f"{gateway_url}/bigcommerce/webhooks",
            is_active=True,
            headers={WEBHOOK_HEADER: store.webhook_secret},
            created_at=now,
            updated_at=now,
        )
        sandbox.hooks[hook.id] = hook
        sandbox.next_hook_id += 1


@contextlib.asynccontextmanager
async def run_gateway(env: BenchEnv, dsn: str, key: str, exchange: str) -> AsyncIterator[str]:
    """The auth gateway's app on a free port; yields its base URL."""
    port = free_port()
    settings = GatewaySettings(
        database_url=dsn,
        amqp_url=env.amqp_url,
        amqp_exchange=exchange,
        bigcommerce_client_id="bench",
        bigcommerce_client_secret="bench-secret-" + "x" * 32,
        bigcommerce_api_url="http://127.0.0.1:9",
        bigcommerce_login_url="http://127.0.0.1:9",
        token_encryption_keys=[key],
        internal_api_tokens=["bench-internal-token-0123456789"],
        public_base_url=f"http://127.0.0.1:{port}",
        http_port=port,
        webhook_check_interval_seconds=86_400,
    )
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def new_despatch(store: Store, order_id: int) -> NewDespatch:
    """Click & Drop's despatch of a whole order, as the writer's ingest stores it."""
    return NewDespatch(
        OrderDespatched(
            channel_id=store.channel_id,
            store_hash=store.hash,
            order_id=order_id,
            despatched_at=datetime.now(UTC),
            tracking_number=f"TT{order_id:09d}GB",
            service_name="Tracked 48",
        )
    )


@contextlib.asynccontextmanager
async def run_status_writer(
    env: BenchEnv, dsn: str, key: str, api_url: str, *, flush_interval_s: float = 3600
) -> AsyncIterator[None]:
    """The status writer service (production settings but its interval) on a private queue.

    It flushes at its start; the interval also sets how fast it means to finish (it sizes the stores
    in flight to be done within 80 % of it).

    It runs in this process: its queue is declared by name, and a private one keeps it off any other
    writer's messages on the shared broker.
    """
    topology = env.topology()
    settings = WriterSettings(
        database_url=dsn,
        amqp_url=env.amqp_url,
        amqp_exchange=topology.exchange,
        bigcommerce_client_id="bench",
        bigcommerce_api_url=api_url,
        token_encryption_keys=[key],
        http_host="127.0.0.1",
        http_port=free_port(),
        flush_interval_seconds=flush_interval_s,
    )
    stop = asyncio.Event()
    writer = asyncio.create_task(run_writer(settings, stop, queue=topology.queues[0]))
    try:
        yield
    finally:
        stop.set()
        await writer


@contextlib.asynccontextmanager
async def event_sink(env: BenchEnv, exchange_name: str) -> AsyncIterator[None]:
    """A queue that takes every event published to `exchange_name` and drops it.

    The relay publishes as mandatory: without a bound queue every event would come back
    unroutable and be retried, which is work a deployment never does.
    """
    connection = await aio_pika.connect_robust(env.amqp_url)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(exchange_name, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, "#")
        tag = await queue.consume(_drop, no_ack=True)
        try:
            yield
        finally:
            await queue.cancel(tag)
            await queue.delete(if_unused=False, if_empty=False)
    finally:
        await connection.close()


async def _drop(_: aio_pika.abc.AbstractIncomingMessage) -> None:
    return None


class ServiceProcess:
    """A service run as `python -m <module>` with its settings in the environment, until `stop()`."""

    def __init__(self, module: str, environment: dict[str, str]) -> None:
        self.module = module
        self.port = free_port()
        self.environment = {
            **os.environ,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(self.port),
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "console",
            **environment,
        }
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.pid)

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", self.module, env=self.environment, stdout=asyncio.subprocess.DEVNULL
        )
        deadline = time.monotonic() + READY_TIMEOUT_S
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise RuntimeError(f"{self.module} exited with {self.process.returncode} at start")
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"http://127.0.0.1:{self.port}/readyz") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.1)  # waiting for the process to start, not pacing work
        raise RuntimeError(f"{self.module} not ready after {READY_TIMEOUT_S:.0f} s")

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    async def counter(self, name: str) -> float:
        """The sum of every sample of a Prometheus counter on the service's /metrics."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{self.port}/metrics") as response,
        ):
            text = await response.text()
        return metric_sum(text, name)

    async def __aenter__(self) -> ServiceProcess:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def metric_sum(exposition: str, name: str) -> float:
    """Sum the samples of `name` (any labels) in Prometheus text exposition."""
    total = 0.0
    for line in exposition.splitlines():
        if line.startswith("#"):
            continue
        metric, _, value = line.rpartition(" ")
        if metric == name or metric.startswith(name + "{"):
            total += float(value)
    return total


def poller_environment(env: BenchEnv, dsn: str, key: str, api_url: str, exchange: str) -> dict[str, str]:
    """The order poller's settings, as a deployment sets them."""
    return {
        "DATABASE_URL": dsn,
        "AMQP_URL": env.amqp_url,
        "AMQP_EXCHANGE": exchange,
        "BIGCOMMERCE_CLIENT_ID": "bench",
        "BIGCOMMERCE_API_URL": api_url,
        "TOKEN_ENCRYPTION_KEYS": key,
    }


@dataclass(frozen=True)
class DatabaseSample:
    """Transactions of one database and CPU of each PostgreSQL backend serving it, at one moment."""

    transactions: int
    backend_cpu_s: dict[int, float]

    def cpu_since(self, earlier: DatabaseSample) -> float:
        """Backend CPU spent between two samples (a backend that started since counts from zero)."""
        return sum(cpu - earlier.backend_cpu_s.get(pid, 0.0) for pid, cpu in self.backend_cpu_s.items())


async def sample_database(admin: asyncpg.Connection, database: str) -> DatabaseSample:
    """pg_stat_database's commits + rollbacks, and the /proc CPU of each of the database's backends.

    The sampling connection itself (on another database) is not among those backends.
    """
    transactions = await admin.fetchval(
        "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1", database
    )
    rows = await admin.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'", database
    )
    return DatabaseSample(
        int(transactions or 0), {row["pid"]: process_cpu_seconds(row["pid"]) for row in rows}
    )


async def wait_for_value(pool: asyncpg.Pool, query: str, timeout_s: float) -> None:
    """Wait until `query` returns true (a service has done something), or raise after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await pool.fetchval(query):
            return
        await asyncio.sleep(0.1)  # waiting for another process, not pacing work
    raise RuntimeError(f"not done within {timeout_s:.0f} s: {query}")
