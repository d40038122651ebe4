"""The fault suite's rig: the real service commands against the sandbox, and what every scenario must end with.

Each scenario runs the three services (or two writers) as processes, breaks a server the way an
operator would see it break, and then checks the same outcome: every order published once (one
event_id per order), every despatch written once, nothing valid in the dead-letter queue, every
service ready again.
"""

from __future__ import annotations

import asyncio
import collections
import json
import re
import signal
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import aiohttp
import asyncpg
from aio_pika.abc import AbstractRobustConnection
from bigcommerce_sandbox import Order, Sandbox
from common.crypto import TokenCipher

from tests.integration.e2e.actions import DESPATCHED_KEY, despatch
from tests.integration.e2e.rig import CONTRACT_DLQ, CONTRACT_QUEUE, EventTap, Service, wait_until

COMPLETED = 10
INSERT_CHANNEL = """
INSERT INTO channels (id, store_hash, status, store_name, trading_name, access_token_encrypted, scope,
                      activated_at, connected_at)
VALUES ($1, $2, 'active', 'Sandbox Store', 'Fault Shop', $3,
        'store_v2_orders store_v2_information_read_only', now(), now())
"""


@dataclass
class Shop:
    """A sandbox store with its channel and the orders the scenario expects downloaded and despatched."""

    hash: str
    channel_id: uuid.UUID
    orders: list[Order] = field(default_factory=list)


@dataclass
class FaultRig:
    """What a scenario drives: the sandbox, the service processes, the broker tap, the test's database."""

    sandbox: Sandbox
    database_url: str
    amqp_url: str
    connection: AbstractRobustConnection
    exchange: str
    tap: EventTap
    http: aiohttp.ClientSession
    cipher: TokenCipher
    env: dict[str, str]
    log_dir: Path
    ports: collections.abc.Iterator[int]
    services: dict[str, Service] = field(default_factory=dict)
    despatched: dict[int, int] = field(default_factory=dict)  # order id -> despatches published

    # -- processes ---------------------------------------------------------------------------

    async def start(self, name: str, command: str, **env: str) -> Service:
        """Start one service command (several writers may run: each its own name) and wait until ready."""
        service = Service(command, next(self.ports), self.log_dir / f"{name}.log")
        self.services[name] = service
        await service.start({**self.env, **env, "HTTP_PORT": str(service.port)})
        await self.wait_ready(name)
        return service

    async def start_services(self) -> None:
        """The gateway, the poller and the writer, each ready."""
        await self.start("gateway", "auth-gateway")  # first: it takes the port the sandbox's app points at
        await self.start("poller", "order-poller")
        await self.start("writer", "status-writer")

    async def restart(self, name: str, **env: str) -> Service:
        old = self.services[name]
        return await self.start(name, old.command, **env)

    async def readiness(self, name: str) -> tuple[int, dict[str, Any]]:
        service = self.services[name]
        try:
            async with self.http.get(f"{service.url}/readyz") as response:
                return response.status, await response.json()
        except aiohttp.ClientError:
            return 0, {}

    async def wait_ready(self, *names: str) -> None:
        for name in names or tuple(self.services):
            service = self.services[name]

            async def ready(service: Service = service, name: str = name) -> bool:
                assert service.process is not None
                if service.process.returncode is not None:
                    raise AssertionError(f"{name} exited with {service.process.returncode}")
                return (await self.readiness(name))[0] == 200

            await wait_until(ready, f"{name} /readyz", timeout_s=30)

    async def wait_dependency_down(self, dependency: str, *names: str) -> None:
        """Until every named service's /readyz says 503 and names `dependency` as failing."""
        for name in names:

            async def says_so(name: str = name) -> bool:
                status, body = await self.readiness(name)
                return status == 503 and body.get("checks", {}).get(dependency) == "failing"

            await wait_until(says_so, f"{name} /readyz naming {dependency}")

    def pid(self, name: str) -> int:
        process = self.services[name].process
        assert process is not None
        return process.pid

    def signal(self, name: str, sig: signal.Signals) -> None:
        process = self.services[name].process
        assert process is not None
        assert process.returncode is None
        process.send_signal(sig)

    async def metric(self, name: str, series: str) -> float:
        async with self.http.get(f"{self.services[name].url}/metrics") as response:
            text = await response.text()
        pattern = re.compile(rf"^{re.escape(series)}(?:\{{[^}}]*\}})? (\S+)$", re.MULTILINE)
        return sum(float(value) for value in pattern.findall(text))

    def logged(self, name: str, event: str) -> list[dict[str, Any]]:
        """The JSON log lines of a service with this `event`."""
        lines = []
        for raw in self.services[name].log_text().splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if isinstance(line, dict) and line.get("event") == event:
                lines.append(line)
        return lines

    async def stop_all(self) -> dict[str, int | None]:
        for service in self.services.values():
            if service.process is not None and service.process.returncode is None:
                service.process.send_signal(signal.SIGCONT)  # a frozen one must be able to stop
                service.process.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for name, service in self.services.items():
            if service.process is None:
                continue
            try:
                codes[name] = await asyncio.wait_for(service.process.wait(), 25)
            except TimeoutError:
                service.process.kill()
                codes[name] = None
        return codes

    def dump_logs(self) -> None:
        for name, service in self.services.items():
            print(f"\n===== {name} ({service.command}) =====\n{service.log_text()}")

    # -- the store and Click & Drop's side ---------------------------------------------------

    async def shop(self, orders: int) -> Shop:
        """A store with `orders` Awaiting Shipment orders and its active channel (as after activation)."""
        store = self.sandbox.create_store(rate_quota=1_000_000)
        token = self.sandbox.issue_token(store.hash)
        channel_id = uuid.uuid4()
        conn = await asyncpg.connect(self.database_url)
        try:
            await conn.execute(INSERT_CHANNEL, channel_id, store.hash, self.cipher.encrypt(token))
        finally:
            await conn.close()
        shop = Shop(store.hash, channel_id)
        self.add_orders(shop, orders)
        return shop

    def add_orders(self, shop: Shop, count: int) -> list[Order]:
        new = [self.sandbox.add_order(shop.hash) for _ in range(count)]
        shop.orders.extend(new)
        return new

    async def publish_despatches(self, shop: Shop, orders: list[Order]) -> None:
        """Click & Drop's OrderDespatched for each order, once each, confirmed by the broker."""
        channel = await self.connection.channel(publisher_confirms=True)
        try:
            exchange = await channel.get_exchange(self.exchange)
            for order in orders:
                body = despatch(
                    str(shop.channel_id), shop.hash, order.id, tracking_number=f"FT{order.id:09d}GB"
                )
                message = aio_pika.Message(
                    json.dumps(body).encode(),
                    content_type="application/json",
                    message_id=body["event_id"],
                    type="OrderDespatched",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                )
                await exchange.publish(message, routing_key=DESPATCHED_KEY, mandatory=True)
                self.despatched[order.id] = self.despatched.get(order.id, 0) + 1
        finally:
            await channel.close()

    # -- what every scenario ends with ---------------------------------------------------------

    async def downloaded_once(self, shop: Shop) -> None:
        """Every order of the shop arrives as OrderDownloaded, under exactly one event_id."""
        wanted = {o.id for o in shop.orders}

        async def all_arrived() -> bool:
            await self.tap.pump()
            got = {r.body["order"]["order_id"] for r in self.tap.of("OrderDownloaded", store_hash=shop.hash)}
            return wanted <= got

        await wait_until(all_arrived, f"OrderDownloaded for {len(wanted)} orders", timeout_s=120)
        event_ids = collections.defaultdict(set)
        for received in self.tap.of("OrderDownloaded", store_hash=shop.hash):
            event_ids[received.body["order"]["order_id"]].add(received.body["event_id"])
        assert set(event_ids) == wanted
        assert all(len(ids) == 1 for ids in event_ids.values()), "an order published under two event_ids"

    async def written_once(self, shop: Shop) -> None:
        """Every despatched order has exactly one shipment (one POST) and is Completed; nothing pending."""

        def all_written() -> bool:
            return all(
                len(order.shipments) >= 1 and order.status_id == COMPLETED
                for order in shop.orders
                if order.id in self.despatched
            )

        await wait_until(all_written, "every despatch written", timeout_s=120)
        for order in shop.orders:
            if order.id in self.despatched:
                assert len(order.shipments) == 1, f"order {order.id} has {len(order.shipments)} shipments"
        conn = await asyncpg.connect(self.database_url)
        try:
            states = await conn.fetch(
                "SELECT state, count(*) FROM despatches WHERE channel_id = $1 GROUP BY state", shop.channel_id
            )
        finally:
            await conn.close()
        assert {r["state"]: r["count"] for r in states} == {"written": len(self.despatched)}

    async def nothing_dead_lettered(self) -> None:
        channel = await self.connection.channel()
        try:
            dlq = await channel.declare_queue(CONTRACT_DLQ, passive=True)
            assert dlq.declaration_result.message_count == 0, "a valid despatch was dead-lettered"
            queue = await channel.declare_queue(CONTRACT_QUEUE, passive=True)
            assert queue.declaration_result.message_count == 0
        finally:
            await channel.close()

    async def all_done(self, shop: Shop) -> None:
        """The outcome every scenario must reach once the fault is over."""
        await self.downloaded_once(shop)
        await self.written_once(shop)
        await self.nothing_dead_lettered()
        await self.wait_ready()
