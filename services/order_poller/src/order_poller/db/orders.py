"""Orders already downloaded (the exactly-once memory, written with the outbox event) and orders skipped."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
from common.events import OrderDownloaded
from common.order_memory import remember
from common.outbox import enqueue
from common.redaction import redact_text
from pydantic import BaseModel, ConfigDict


@dataclass(frozen=True)
class KnownOrders:
    """What the database already knows about a page of order ids."""

    downloaded: frozenset[int] = frozenset()
    # every order with a skip row (so a download knows whether there is one to delete)
    skipped: frozenset[int] = frozenset()
    # order id -> date_modified when a final skip was recorded
    final_skips: dict[int, datetime] = field(default_factory=dict)

    def needs_work(self, order_id: int, date_modified: datetime) -> bool:
        """False for an order already published, or finally skipped and unchanged since."""
        if order_id in self.downloaded:
            return False
        skipped_at_version = self.final_skips.get(order_id)
        return skipped_at_version is None or skipped_at_version != date_modified


# One query for a whole page, before any per-order request to BigCommerce.
SELECT_KNOWN = """
SELECT order_id, true AS downloaded, false AS final, NULL::timestamptz AS date_modified
  FROM downloaded_orders
 WHERE store_hash = $1 AND order_id = ANY($2::bigint[])
UNION ALL
SELECT order_id, false, final, date_modified
  FROM skipped_orders
 WHERE store_hash = $1 AND order_id = ANY($2::bigint[])
"""


async def known_orders(
    conn: asyncpg.Connection | asyncpg.Pool, store_hash: str, order_ids: Sequence[int]
) -> KnownOrders:
    """Which of `order_ids` need no further request."""
    if not order_ids:
        return KnownOrders()
    rows = await conn.fetch(SELECT_KNOWN, store_hash, list(order_ids))
    return KnownOrders(
        downloaded=frozenset(row["order_id"] for row in rows if row["downloaded"]),
        skipped=frozenset(row["order_id"] for row in rows if not row["downloaded"]),
        final_skips={row["order_id"]: row["date_modified"] for row in rows if row["final"]},
    )


INSERT_DOWNLOADED = """
INSERT INTO downloaded_orders (store_hash, order_id, channel_id, event_id, date_modified,
                               status_id, consignments)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (store_hash, order_id) DO NOTHING
RETURNING true
"""
DELETE_SKIPPED = "DELETE FROM skipped_orders WHERE store_hash = $1 AND order_id = $2"


async def record_download(pool: asyncpg.Pool, event: OrderDownloaded, *, was_skipped: bool = True) -> bool:
    """Remember the order and enqueue its event in ONE transaction; False if it was already downloaded.

    The unique key decides: two replicas racing on one order both try, one inserts and enqueues,
    the other inserts nothing and publishes nothing.
    """
    order = event.order
    memory = remember(order)
    async with pool.acquire() as conn, conn.transaction():
        inserted = await conn.fetchval(
            INSERT_DOWNLOADED,
            event.store_hash,
            order.order_id,
            event.channel_id,
            event.event_id,
            order.date_modified,
            memory.status_id,
            memory.consignments_column(),
        )
        if not inserted:
            return False
        await enqueue(conn, event)
        if was_skipped:  # an earlier poll recorded why it could not download it then
            await conn.execute(DELETE_SKIPPED, event.store_hash, order.order_id)
    return True


# Never for an order already downloaded (a replica that raced us won); `inserted` tells a first skip.
UPSERT_SKIPPED = """
INSERT INTO skipped_orders (store_hash, order_id, channel_id, reason, detail, final, date_modified)
SELECT $1, $2, $3, $4, $5, $6, $7
 WHERE NOT EXISTS (SELECT 1 FROM downloaded_orders WHERE store_hash = $1 AND order_id = $2)
ON CONFLICT (store_hash, order_id) DO UPDATE
   SET channel_id = EXCLUDED.channel_id,
       reason = EXCLUDED.reason,
       detail = EXCLUDED.detail,
       final = EXCLUDED.final,
       date_modified = EXCLUDED.date_modified,
       attempts = skipped_orders.attempts + 1,
       last_seen_at = now()
RETURNING (xmax = 0) AS inserted
"""


async def record_skip(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    channel_id: uuid.UUID,
    store_hash: str,
    order_id: int,
    reason: str,
    detail: str,
    final: bool,
    date_modified: datetime,
) -> bool:
    """Record why an order is not published; True the first time this order is skipped."""
    inserted: bool | None = await conn.fetchval(
        UPSERT_SKIPPED,
        store_hash,
        order_id,
        channel_id,
        reason,
        redact_text(detail)[:500],
        final,
        date_modified,
    )
    return bool(inserted)


class SkippedOrder(BaseModel):
    """One order not published, with the reason."""

    model_config = ConfigDict(frozen=True)

    order_id: int
    reason: str
    detail: str
    final: bool
    attempts: int


SELECT_SKIPPED = """
SELECT order_id, reason, detail, final, attempts
  FROM skipped_orders WHERE store_hash = $1 ORDER BY order_id
"""


async def skipped_orders(conn: asyncpg.Connection | asyncpg.Pool, store_hash: str) -> list[SkippedOrder]:
    """Every skipped order of a store, by id."""
    return [SkippedOrder.model_validate(dict(row)) for row in await conn.fetch(SELECT_SKIPPED, store_hash)]
