"""Order poller test helpers: a driven clock shared with the sandbox, channels in the database, a poller rig."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime

import aiohttp
import asyncpg
from aio_pika.abc import AbstractQueue, AbstractRobustConnection
from bigcommerce_sandbox.models import Order
from bigcommerce_sandbox.runner import run_sandbox
from bigcommerce_sandbox.sandbox import Sandbox
from common.amqp import EventPublisher, Topology
from common.bigcommerce.client import BigCommerceClient
from common.bigcommerce.pacing import RateLimiterRegistry
from common.bigcommerce.retry import RetryPolicy
from common.crypto import TokenCipher, generate_key
from common.events import OrderDownloaded
from common.outbox import OutboxRelay
from order_poller.download import KnownOrderHandler
from order_poller.poller import Poller, PollerConfig

from tests.support.amqp import bind_probe, get_messages
from tests.support.clock import FakeTime

DOWNLOADED_KEY = "bigcommerce.order.downloaded"


INSERT_CHANNEL = """
INSERT INTO channels (id, store_hash, status, store_name, trading_name, access_token_encrypted,
                      order_status_ids, weight_units, plan_name, next_download_at, scope)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'store_v2_orders store_v2_information_read_only')
"""


async def add_channel(
    pool: asyncpg.Pool,
    cipher: TokenCipher,
    store_hash: str,
    token: str,
    *,
    status: str = "active",
    trading_name: str = "Zoë's Shop",
    order_status_ids: Sequence[int] = (9,),
    weight_units: str | None = None,
    plan_name: str | None = None,
    next_download_at: datetime | None = None,
) -> uuid.UUID:
    """Insert a channel as the gateway leaves it after install and activation."""
    channel_id = uuid.uuid4()
    await pool.execute(
        INSERT_CHANNEL,
        channel_id,
        store_hash,
        status,
        "Sandbox Store",
        trading_name,
        cipher.encrypt(token),
        list(order_status_ids),
        weight_units,
        plan_name,
        next_download_at,
    )
    return channel_id


def without_listed_weights(*orders: Order) -> None:
    """Orders whose listed consignment lines lack weights (reference §4.6): the poller reads their
    `/products` and `/shipping_addresses`, so per-order requests happen for them."""
    for order in orders:
        order.consignment_line_gaps = ("weight",)


@dataclass
class Rig:
    """A sandbox, a BigCommerce client on a driven clock, and pollers built on demand."""

    sandbox: Sandbox
    time: FakeTime
    pool: asyncpg.Pool
    client: BigCommerceClient
    cipher: TokenCipher
    config: PollerConfig
    pollers: list[Poller] = field(default_factory=list)

    def poller(
        self,
        *,
        owner: str | None = None,
        seed: int = 1,
        on_known_order: KnownOrderHandler | None = None,
        **config: object,
    ) -> Poller:
        poller = Poller(
            self.pool,
            self.client,
            self.cipher,
            replace(self.config, **config),  # type: ignore[arg-type]
            owner=owner,
            clock=self.time.now,
            rng=random.Random(seed),
            on_known_order=on_known_order,
        )
        self.pollers.append(poller)
        return poller

    def new_store(self, *, quota: int = 1_000_000, **options: object) -> tuple[str, str]:
        """A sandbox store with the app installed: (store_hash, token)."""
        store = self.sandbox.create_store(rate_quota=quota, **options)  # type: ignore[arg-type]
        return store.hash, self.sandbox.issue_token(store.hash)

    async def new_channel(self, *, quota: int = 1_000_000, **channel: object) -> tuple[str, uuid.UUID]:
        store_hash, token = self.new_store(quota=quota)
        channel_id = await add_channel(self.pool, self.cipher, store_hash, token, **channel)  # type: ignore[arg-type]
        return store_hash, channel_id

    def api_requests(self, store_hash: str) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.sandbox.requests(store_hash)]


FAST_CONFIG = PollerConfig(
    interval_min_s=600,
    interval_max_s=900,
    max_age_days=7,
    concurrency=4,
    lease_s=60,
    recheck_interval_s=0,
    idle_max_s=0.2,
)


@asynccontextmanager
async def poller_rig(pool: asyncpg.Pool, config: PollerConfig = FAST_CONFIG) -> AsyncIterator[Rig]:
    """Everything a poller needs against the sandbox; the sandbox, client and pacing share one clock."""
    fake = FakeTime()
    sandbox = Sandbox(clock=fake)
    async with run_sandbox(sandbox=sandbox), aiohttp.ClientSession() as session:
        client = BigCommerceClient(
            session,
            sandbox.api_url,
            retry=RetryPolicy(sleep=fake.sleep, read_backoff_s=0.5),
            limiters=RateLimiterRegistry(clock=fake, sleep=fake.sleep),
        )
        yield Rig(sandbox, fake, pool, client, TokenCipher([generate_key()]), config)


@asynccontextmanager
async def relay_to_probe(
    pool: asyncpg.Pool, connection: AbstractRobustConnection, topology: Topology
) -> AsyncIterator[tuple[OutboxRelay, AbstractQueue]]:
    """An outbox relay publishing on the test's exchange, and a queue receiving OrderDownloaded."""
    probe = await bind_probe(connection, topology.exchange, DOWNLOADED_KEY)
    async with EventPublisher(connection, Topology(exchange=topology.exchange)) as publisher:
        yield OutboxRelay(pool, publisher), probe


async def received_events(
    queue: AbstractQueue, count: int, *, timeout_s: float = 10.0
) -> list[OrderDownloaded]:
    """`count` OrderDownloaded events from the probe (fewer if they never come)."""
    messages = await get_messages(queue, count, timeout_s=timeout_s)
    return [OrderDownloaded.model_validate_json(m.body) for m in messages]


async def probe_is_empty(queue: AbstractQueue) -> bool:
    """True when nothing is waiting in the probe: after a confirmed publish, no waiting is needed."""
    return await queue.get(fail=False, no_ack=True) is None


async def downloaded_ids(pool: asyncpg.Pool, store_hash: str) -> set[int]:
    rows = await pool.fetch("SELECT order_id FROM downloaded_orders WHERE store_hash = $1", store_hash)
    return {row["order_id"] for row in rows}


async def outbox_rows(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return list(await pool.fetch("SELECT event_id, body, published_at FROM outbox ORDER BY id"))
