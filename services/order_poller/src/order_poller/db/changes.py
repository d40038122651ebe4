"""Change detection's storage: what was remembered of downloaded orders, updated with the
`OrderChanged` outbox row in one transaction, and each channel's scan cursor (read with the claim, `db.schedule.CLAIM_DUE`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from common.db.despatches import OWN_DESPATCH
from common.events import OrderChanged
from common.order_memory import OrderMemory, memory_from_row
from common.outbox import enqueue
from pydantic import ValidationError


@dataclass(frozen=True)
class DownloadedOrderState:
    """A downloaded order as the connector last saw it."""

    order_id: int
    event_id: uuid.UUID
    date_modified: datetime
    # None for rows written before the memory was kept (or unreadable)
    memory: OrderMemory | None
    has_own_despatch: bool
    # the memory's columns as stored: what a change's compare-and-set expects to find
    stored: tuple[int | None, Any] = (None, None)


# One query per listed page: the memory and whether a despatch of the channel's is on the way or
# written (despatches_channel_order_idx).
SELECT_STATES = f"""
SELECT d.order_id, d.event_id, d.date_modified, d.status_id, d.consignments,
       EXISTS (SELECT 1 FROM despatches p
                WHERE p.channel_id = $3 AND p.order_id = d.order_id AND {OWN_DESPATCH}) AS has_own_despatch
  FROM downloaded_orders d
 WHERE d.store_hash = $1 AND d.order_id = ANY($2::bigint[])
"""


async def downloaded_states(
    conn: asyncpg.Connection | asyncpg.Pool, channel_id: uuid.UUID, store_hash: str, order_ids: Sequence[int]
) -> dict[int, DownloadedOrderState]:
    """Which of `order_ids` the store downloaded, with what is remembered of each."""
    if not order_ids:
        return {}
    rows = await conn.fetch(SELECT_STATES, store_hash, list(order_ids), channel_id)
    return {
        row["order_id"]: DownloadedOrderState(
            order_id=row["order_id"],
            event_id=row["event_id"],
            date_modified=row["date_modified"],
            memory=_memory(row),
            has_own_despatch=row["has_own_despatch"],
            stored=(row["status_id"], row["consignments"]),
        )
        for row in rows
    }


def _memory(row: asyncpg.Record) -> OrderMemory | None:
    try:
        return memory_from_row(row["status_id"], row["consignments"])
    except ValidationError:
        # unreadable (never written so by this code): remembered afresh, as a row without memory
        return None


# Compare-and-set: only from the memory this change was judged against, so two finds of the same
# change (a scheduled poll and a webhook, or a replay) update and announce it once.
UPDATE_MEMORY = """
UPDATE downloaded_orders
   SET status_id = $3, consignments = $4, date_modified = $5
 WHERE store_hash = $1 AND order_id = $2
   AND status_id IS NOT DISTINCT FROM $6 AND consignments IS NOT DISTINCT FROM $7::jsonb
RETURNING true
"""


async def record_change(
    pool: asyncpg.Pool,
    *,
    store_hash: str,
    order_id: int,
    stored: tuple[int | None, Any],
    after: OrderMemory,
    date_modified: datetime,
    event: OrderChanged | None,
) -> bool:
    """Remember `after` and enqueue `event` (if any) in ONE transaction; False if the memory's columns
    no longer hold `stored` (another find got there first) and nothing was done."""
    async with pool.acquire() as conn, conn.transaction():
        updated = await conn.fetchval(
            UPDATE_MEMORY,
            store_hash,
            order_id,
            after.status_id,
            after.consignments_column(),
            date_modified,
            *stored,
        )
        if not updated:
            return False
        if event is not None:
            await enqueue(conn, event)
    return True


UPSERT_SCAN_FROM = """
INSERT INTO order_change_scans (channel_id, scan_from) VALUES ($1, $2)
ON CONFLICT (channel_id) DO UPDATE SET scan_from = EXCLUDED.scan_from, updated_at = now()
"""


async def save_scan_from(
    conn: asyncpg.Connection | asyncpg.Pool, channel_id: uuid.UUID, when: datetime
) -> None:
    """Move the channel's cursor after a scan that finished (a failed scan keeps the old one)."""
    await conn.execute(UPSERT_SCAN_FROM, channel_id, when)
