"""How many of a channel's orders were downloaded and skipped, by reason: sync health the poller writes and the gateway shows."""

from __future__ import annotations

import uuid

import asyncpg
from pydantic import BaseModel, ConfigDict


class OrderCounts(BaseModel):
    """Sync health counts of a channel: orders downloaded, and skipped by reason."""

    model_config = ConfigDict(frozen=True)

    downloaded_orders: int
    skipped_orders: int
    skipped_by_reason: dict[str, int]


SELECT_COUNTS = """
SELECT downloaded_orders, skipped_orders, skipped_by_reason
  FROM channel_order_counts WHERE channel_id = $1
"""


async def order_counts(conn: asyncpg.Connection | asyncpg.Pool, channel_id: uuid.UUID) -> OrderCounts:
    """How many orders of the channel's store were downloaded and skipped (zero for an unknown channel)."""
    row = await conn.fetchrow(SELECT_COUNTS, channel_id)
    if row is None:
        return OrderCounts(downloaded_orders=0, skipped_orders=0, skipped_by_reason={})
    return OrderCounts.model_validate(dict(row))
