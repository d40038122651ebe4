"""End-to-end helpers: the real service commands as subprocesses, a tap on the broker, API and metrics calls."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import aiormq
import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection
from bigcommerce_sandbox import Sandbox

BIN = Path(sys.executable).parent
CONTRACT_QUEUE = "bigcommerce.status-writer.order-despatched"
CONTRACT_DLQ = f"{CONTRACT_QUEUE}.dlq"
CLIENT_ID = "e2e-client-id"
CLIENT_SECRET = "e2e-client-secret-0123456789abcdef0123456789"  # 32+ bytes, as real ones are
API_TOKEN = "e2e-internal-api-token"
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 25.0  # above the services' default shutdown grace (20 s)


def services_env(
    *, database_url: str, amqp_url: str, exchange: str, sandbox: Sandbox, gateway_url: str, key: str
) -> dict[str, str]:
    """The CONTRACT §2 environment every service of a rig starts with: the sandbox as BigCommerce,
    the gateway at `gateway_url`, polls every 1-2 s."""
    return {
        "DATABASE_URL": database_url,
        "AMQP_URL": amqp_url,
        "AMQP_EXCHANGE": exchange,
        "BIGCOMMERCE_CLIENT_ID": CLIENT_ID,
        "BIGCOMMERCE_CLIENT_SECRET": CLIENT_SECRET,
        "BIGCOMMERCE_API_URL": sandbox.api_url,
        "BIGCOMMERCE_LOGIN_URL": sandbox.login_url,
        "PUBLIC_BASE_URL": gateway_url,
        "CLICKDROP_APP_URL": gateway_url,
        "TOKEN_ENCRYPTION_KEYS": key,
        "INTERNAL_API_TOKENS": API_TOKEN,
        "POLL_INTERVAL_MIN_SECONDS": "1",
        "POLL_INTERVAL_MAX_SECONDS": "2",
        "LOG_FORMAT": "json",
    }


async def wait_until(
    condition: Callable[[], Awaitable[bool] | bool], what: str, *, timeout_s: float = 15.0
) -> None:
    """Poll `condition` until it holds; fail naming `what` at the deadline (no fixed sleeps)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)  # polling a condition, not waiting for time to pass


# -- service processes --------------------------------------------------------------------------


@dataclass
class Service:
    """One real service command started with only its CONTRACT §2 environment."""

    command: str
    port: int
    log_path: Path
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, env: dict[str, str]) -> None:
        with self.log_path.open("wb") as log_file:
            # the child keeps its own copy of the descriptor; stdout too, in case anything prints there
            self.process = await asyncio.create_subprocess_exec(
                str(BIN / self.command),
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
            )

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""


@dataclass
class Services:
    """The gateway, poller and writer, their URLs and logs."""

    gateway: Service
    poller: Service
    writer: Service
    env: dict[str, str] = field(default_factory=dict)

    @property
    def all(self) -> tuple[Service, ...]:
        return (self.gateway, self.poller, self.writer)

    async def start(self) -> None:
        for service in self.all:
            env = {**self.env, "HTTP_PORT": str(service.port), "HTTP_HOST": "127.0.0.1"}
            if service is not self.gateway:
                # it signs the JWTs that authorise uninstall: only the gateway gets it (CONTRACT §2)
                env.pop("BIGCOMMERCE_CLIENT_SECRET", None)
            await service.start(env)
        async with aiohttp.ClientSession() as http:
            for service in self.all:
                await self._wait_ready(http, service)

    async def _wait_ready(self, http: aiohttp.ClientSession, service: Service) -> None:
        async def ready() -> bool:
            assert service.process is not None
            if service.process.returncode is not None:
                pytest.fail(f"{service.command} exited with {service.process.returncode} while starting")
            try:
                async with http.get(f"{service.url}/readyz") as response:
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        await wait_until(ready, f"{service.command} /readyz", timeout_s=READY_TIMEOUT_S)

    async def stop(self) -> dict[str, int | None]:
        """SIGTERM every process, then wait for each with a deadline; returns the exit codes (None: hung)."""
        for service in self.all:
            if service.process is not None and service.process.returncode is None:
                service.process.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for service in self.all:
            if service.process is None:
                continue
            try:
                codes[service.command] = await asyncio.wait_for(service.process.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                codes[service.command] = None
        return codes

    async def kill_leftovers(self) -> None:
        for service in self.all:
            if service.process is not None and service.process.returncode is None:
                service.process.kill()
                await service.process.wait()

    def dump_logs(self) -> None:
        for service in self.all:
            print(f"\n===== {service.command} (stderr) =====\n{service.log_text()}")


# -- broker taps ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One message the probe saw, with the properties the contract fixes."""

    routing_key: str
    body: dict[str, Any]
    content_type: str | None
    message_id: str | None
    type: str | None
    delivery_mode: int | None


class EventTap:
    """Everything published under `bigcommerce.#`, read from a private probe queue.

    Delivery is at least once, so like every consumer the tap keeps one message per `event_id`:
    "downloaded twice" means two events for one order, not a redelivered event.
    """

    def __init__(self, queue: AbstractQueue) -> None:
        self._queue = queue
        self.received: list[Received] = []
        self._event_ids: set[str] = set()

    async def pump(self) -> list[Received]:
        """Move every waiting message into `received`."""
        while (message := await self._queue.get(no_ack=True, fail=False)) is not None:
            received = _received(message)
            if received.body["event_id"] not in self._event_ids:
                self._event_ids.add(received.body["event_id"])
                self.received.append(received)
        return self.received

    def of(self, event_type: str, **fields: object) -> list[Received]:
        return [
            r
            for r in self.received
            if r.body.get("event_type") == event_type and all(r.body.get(k) == v for k, v in fields.items())
        ]

    async def wait_for(self, event_type: str, count: int = 1, **fields: object) -> list[Received]:
        async def arrived() -> bool:
            await self.pump()
            return len(self.of(event_type, **fields)) >= count

        await wait_until(arrived, f"{count} {event_type} {fields}")
        return self.of(event_type, **fields)


def _received(message: AbstractIncomingMessage) -> Received:
    delivery_mode = message.delivery_mode
    return Received(
        routing_key=message.routing_key or "",
        body=json.loads(message.body),
        content_type=message.content_type,
        message_id=message.message_id,
        type=message.type,
        delivery_mode=int(delivery_mode) if delivery_mode is not None else None,
    )


async def delete_contract_queues(connection: AbstractRobustConnection, *, leftovers_only: bool) -> None:
    """Delete the writer's contract queue and its DLQ.

    Before the test (`leftovers_only`) they may belong to a local stack (`make run`): an idle, empty
    pair is a leftover the writer could not re-declare on the test's exchange and is deleted; one in
    use or holding messages is someone's data, and the test stops instead.
    """
    channel = await connection.channel()
    try:
        for name in (CONTRACT_QUEUE, CONTRACT_DLQ):
            try:
                queue = await channel.declare_queue(name, passive=True)
            except aiormq.exceptions.ChannelNotFoundEntity:
                channel = await connection.channel()  # a failed passive declare closes the channel
                continue
            consumers = queue.declaration_result.consumer_count or 0
            messages = queue.declaration_result.message_count or 0
            if leftovers_only and (consumers or messages):
                pytest.fail(
                    f"{name} has {consumers} consumer(s) and {messages} message(s): a status writer on "
                    "this broker uses the contract queue; stop it (or delete the queue) to run this test"
                )
            await channel.queue_delete(name)
    finally:
        if not channel.is_closed:
            await channel.close()


# -- the rig -------------------------------------------------------------------------------------


@dataclass
class Rig:
    """What the test drives: the sandbox, the running services, the event tap and an HTTP client."""

    sandbox: Sandbox
    services: Services
    tap: EventTap
    connection: AbstractRobustConnection
    exchange: str
    http: aiohttp.ClientSession
    secrets: tuple[str, ...]

    @property
    def gateway_url(self) -> str:
        return self.services.gateway.url

    async def api(self, method: str, path: str, *, json_body: Any = None) -> tuple[int, Any]:
        """Call the gateway's internal API as Click & Drop does."""
        headers = {"Authorization": f"Bearer {API_TOKEN}", "Accept": "application/json"}
        async with self.http.request(
            method, f"{self.gateway_url}{path}", json=json_body, headers=headers
        ) as response:
            text = await response.text()
            return response.status, (json.loads(text) if text else None)

    async def metric(self, service: Service, name: str) -> float:
        """The sum of every sample of one Prometheus series on a service's /metrics."""
        async with self.http.get(f"{service.url}/metrics") as response:
            text = await response.text()
        pattern = re.compile(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? (\S+)$", re.MULTILINE)
        return sum(float(value) for value in pattern.findall(text))


CONTRACT_VARIABLES = frozenset(
    {
        "DATABASE_URL",
        "AMQP_URL",
        "AMQP_EXCHANGE",
        "BIGCOMMERCE_CLIENT_ID",
        "BIGCOMMERCE_CLIENT_SECRET",
        "BIGCOMMERCE_API_URL",
        "BIGCOMMERCE_LOGIN_URL",
        "PUBLIC_BASE_URL",
        "CLICKDROP_APP_URL",
        "TOKEN_ENCRYPTION_KEYS",
        "INTERNAL_API_TOKENS",
        "POLL_INTERVAL_MIN_SECONDS",
        "POLL_INTERVAL_MAX_SECONDS",
        "ORDER_MAX_AGE_DAYS",
        "FLUSH_INTERVAL_SECONDS",
        "HTTP_PORT",
        "HTTP_HOST",
        "LOG_LEVEL",
        "LOG_FORMAT",
    }
)
