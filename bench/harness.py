"""What every benchmark stage gets and returns."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aio_pika
import asyncpg
from common.amqp import QueueSpec, Topology
from common.db.migrate import migrate

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


@dataclass(frozen=True)
class StageResult:
    """One row of the table: `items` handled in `seconds`, compared with a baseline row by name."""

    stage: str
    items: int
    seconds: float
    baseline: str | None = None  # the name of the baseline row this stage is compared with
    api_calls: int | None = None  # BigCommerce requests made for those items
    note: str = ""

    @property
    def rate(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else float("inf")

    @property
    def calls_per_item(self) -> float | None:
        return None if self.api_calls is None or not self.items else self.api_calls / self.items


@dataclass(frozen=True)
class Figure:
    """A measured figure printed under the throughput rows: its value, the goal, and whether it is met."""

    name: str
    value: str
    goal: str = ""
    met: bool | None = None  # None: no goal, or nothing measured
    note: str = ""


Row = StageResult | Figure


@dataclass
class BenchEnv:
    """Servers for one stage: a fresh migrated database and private AMQP names."""

    postgres_server: str = POSTGRES_SERVER
    amqp_url: str = AMQP_URL
    scale: int = 1000  # how many orders / despatches a stage handles
    stores: int = 1000  # how many stores the capacity stages poll and flush
    topologies: list[Topology] = field(default_factory=list)

    def topology(self) -> Topology:
        """Private exchange and queue names for one stage, removed by `cleanup()`."""
        prefix = f"bench.{uuid.uuid4().hex[:8]}"
        topology = Topology(
            exchange=f"{prefix}.events",
            queues=(
                QueueSpec(name=f"{prefix}.order-despatched", routing_keys=("order.despatched.bigcommerce",)),
            ),
        )
        self.topologies.append(topology)
        return topology

    async def cleanup(self) -> None:
        """Delete every exchange and queue the stages declared."""
        connection = await aio_pika.connect_robust(self.amqp_url)
        try:
            channel = await connection.channel()
            for topology in self.topologies:
                for spec in topology.queues:
                    for name in (spec.name, spec.dlq_name):
                        await channel.queue_delete(name)
                for name in (topology.exchange, topology.dead_letter_exchange):
                    await channel.exchange_delete(name)
        finally:
            await connection.close()

    @staticmethod
    def database_name(url: str) -> str:
        return url.rsplit("/", 1)[1]

    def database_url(self, name: str) -> str:
        return self.postgres_server.rsplit("/", 1)[0] + f"/{name}"

    @asynccontextmanager
    async def database(self) -> AsyncIterator[str]:
        """A fresh migrated database, dropped afterwards."""
        name = f"bcc_bench_{uuid.uuid4().hex[:10]}"
        url = self.database_url(name)
        await migrate(url)
        try:
            yield url
        finally:
            admin = await asyncpg.connect(self.postgres_server)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()


class Stopwatch:
    """`with Stopwatch() as sw: ...; sw.seconds`."""

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start
