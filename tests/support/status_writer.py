"""Status writer test helpers: a driven clock shared with the sandbox, channels, despatch events, writer rigs."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
from bigcommerce_sandbox.builders import AddressSpec, LineSpec
from bigcommerce_sandbox.models import Order
from bigcommerce_sandbox.runner import run_sandbox
from bigcommerce_sandbox.sandbox import Sandbox
from common.bigcommerce.client import BigCommerceClient
from common.bigcommerce.pacing import RateLimiterRegistry
from common.bigcommerce.retry import RetryPolicy
from common.crypto import TokenCipher, generate_key
from common.events import OrderDespatched
from common.order_memory import OrderMemory, RememberedConsignment, RememberedItem
from status_writer.flusher import Flusher
from status_writer.store_flush import FlushPolicy

from tests.support.clock import FakeTime
from tests.support.waiting import eventually  # noqa: F401 - re-exported for the writer tests

POLICY = FlushPolicy(lease_s=300, backoff_s=60, backoff_max_s=4 * 3600)


INSERT_CHANNEL = """
INSERT INTO channels (id, store_hash, status, store_name, trading_name, access_token_encrypted,
                      mark_orders_as_despatched, despatched_order_status, plan_name, scope)
VALUES ($1, $2, $3, 'Sandbox Store', 'Zoë''s Shop', $4, $5, $6, 'Standard', 'store_v2_orders')
"""


# what the poller's record_download keeps beside each downloaded order (common.order_memory)
REMEMBER_ORDER = """
INSERT INTO downloaded_orders (store_hash, order_id, channel_id, event_id, date_modified, status_id, consignments)
VALUES ($1, $2, $3, $4, now(), $5, $6)
ON CONFLICT (store_hash, order_id) DO UPDATE SET status_id = $5, consignments = $6
"""


def units_left(order: Order) -> dict[int, int]:
    """Units of each line the sandbox order still has to ship, as the poller would see them."""
    return {
        ln.id: ln.quantity - ln.quantity_shipped - ln.quantity_refunded
        for ln in order.lines
        if ln.type == "physical" and not ln.order_pickup_method_id
    }


def every_item(order: Order) -> list[dict[str, int]]:
    """`items` naming every unit the order still has to ship."""
    return [{"order_product_id": pid, "quantity": q} for pid, q in units_left(order).items() if q > 0]


def memory_of(order: Order, status_id: int | None = None) -> OrderMemory:
    """What the poller remembers of a sandbox order downloaded as it is now."""
    consignments: dict[int, list[RememberedItem]] = {}
    by_line = {ln.id: ln for ln in order.lines}
    for pid, quantity in units_left(order).items():
        if quantity > 0:
            address_id = by_line[pid].order_address_id
            consignments.setdefault(address_id, []).append(
                RememberedItem(order_product_id=pid, quantity=quantity)
            )
    return OrderMemory(
        status_id=order.status_id if status_id is None else status_id,
        consignments=tuple(
            RememberedConsignment(
                order_address_id=address_id,
                address_sha256=hashlib.sha256(str(address_id).encode()).hexdigest(),
                items=tuple(items),
            )
            for address_id, items in sorted(consignments.items())
        ),
    )


def despatch(channel_id: uuid.UUID, store_hash: str, order_id: int, **fields: Any) -> OrderDespatched:
    """A valid OrderDespatched with contract-like defaults; `fields` override any of them."""
    values: dict[str, Any] = {
        "channel_id": channel_id,
        "store_hash": store_hash,
        "order_id": order_id,
        "despatched_at": datetime(2026, 11, 27, 10, 14, tzinfo=UTC),
        "tracking_number": f"TT{order_id:09d}GB",
        "service_name": "Tracked 48",
    }
    values.update(fields)
    return OrderDespatched.model_validate(values)


@dataclass
class WriterRig:
    """A sandbox, a BigCommerce client on a driven clock, channels, and writers built on demand."""

    sandbox: Sandbox
    time: FakeTime
    pool: asyncpg.Pool
    client: BigCommerceClient
    cipher: TokenCipher
    key: str
    writers: list[Flusher] = field(default_factory=list)

    def writer(
        self, *, holder: str | None = None, client: BigCommerceClient | None = None, **options: Any
    ) -> Flusher:
        """A writer replica (its own lease holder name) on the rig's clock."""
        flusher = Flusher(
            self.pool,
            client or self.client,
            self.cipher,
            policy=options.pop("policy", POLICY),
            holder=holder or f"writer-{len(self.writers) + 1}",
            clock=self.time.now,
            **options,
        )
        self.writers.append(flusher)
        return flusher

    async def new_channel(
        self,
        *,
        status: str = "active",
        mark_orders_as_despatched: bool = True,
        despatched_order_status: str = "completed",
    ) -> tuple[str, uuid.UUID]:
        """A sandbox store with the app installed and its channel row: (store_hash, channel_id)."""
        store = self.sandbox.create_store(rate_quota=1_000_000)
        token = self.sandbox.issue_token(store.hash)
        channel_id = uuid.uuid4()
        await self.pool.execute(
            INSERT_CHANNEL,
            channel_id,
            store.hash,
            status,
            self.cipher.encrypt(token),
            mark_orders_as_despatched,
            despatched_order_status,
        )
        return store.hash, channel_id

    def order(
        self,
        store_hash: str,
        lines: Sequence[LineSpec] = (LineSpec(),),
        addresses: Sequence[AddressSpec] | None = None,
        status_id: int = 9,
    ) -> Order:
        return self.sandbox.add_order(store_hash, lines, addresses=addresses, status_id=status_id)

    async def remember(
        self, store_hash: str, channel_id: uuid.UUID, order: Order, *, status_id: int | None = None
    ) -> None:
        """Record the order as downloaded, with its memory as the poller keeps it (or this status)."""
        memory = memory_of(order, status_id)
        await self.pool.execute(
            REMEMBER_ORDER,
            store_hash,
            order.id,
            channel_id,
            uuid.uuid4(),
            memory.status_id,
            memory.consignments_column(),
        )

    def api_calls(self, store_hash: str) -> list[str]:
        return [f"{r.method} {r.path.split('/v2', 1)[-1]}" for r in self.sandbox.requests(store_hash)]

    async def record(self, *events: OrderDespatched) -> None:
        """Store despatches as ingest would (tests of the flush skip the broker)."""
        from common.db.despatches import NewDespatch, record_despatches

        async with self.pool.acquire() as conn, conn.transaction():
            await record_despatches(conn, [NewDespatch(e) for e in events])

    async def despatches(self, channel_id: uuid.UUID) -> list[asyncpg.Record]:
        return list(
            await self.pool.fetch(
                "SELECT id, event_id, order_id, state, reason, attempts, shipment_ids, request, next_attempt_at"
                " FROM despatches WHERE channel_id = $1 ORDER BY id",
                channel_id,
            )
        )


@asynccontextmanager
async def writer_rig(pool: asyncpg.Pool, *, max_attempts: int = 5) -> AsyncIterator[WriterRig]:
    """Everything a writer needs against the sandbox; the sandbox, client and pacing share one clock."""
    fake = FakeTime()
    sandbox = Sandbox(clock=fake)
    async with run_sandbox(sandbox=sandbox), aiohttp.ClientSession() as session:
        client = BigCommerceClient(
            session,
            sandbox.api_url,
            retry=RetryPolicy(sleep=fake.sleep, max_attempts=max_attempts),
            limiters=RateLimiterRegistry(clock=fake, sleep=fake.sleep),
            timeout=aiohttp.ClientTimeout(total=2, connect=2),
        )
        key = generate_key()
        yield WriterRig(sandbox, fake, pool, client, TokenCipher([key]), key)
