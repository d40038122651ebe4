"""Per-order download requests (written by the gateway's status webhooks), served under the poll lease."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class OrderRequest:
    """One order to fetch and download; `requested_at` tells a later request for it apart."""

    order_id: int
    requested_at: datetime


SELECT_WAITING = """
SELECT order_id, requested_at
  FROM order_download_requests
 WHERE channel_id = $1
 ORDER BY requested_at, order_id
 LIMIT $2
"""


async def waiting_order_requests(
    conn: asyncpg.Connection | asyncpg.Pool, channel_id: uuid.UUID, limit: int
) -> list[OrderRequest]:
    """The oldest `limit` order requests of a channel, oldest first."""
    rows = await conn.fetch(SELECT_WAITING, channel_id, limit)
    return [OrderRequest(row["order_id"], row["requested_at"]) for row in rows]


# Only the request that was served: one made again meanwhile (a later requested_at) stays.
DELETE_SERVED = """
DELETE FROM order_download_requests AS r
 USING unnest($2::bigint[], $3::timestamptz[]) AS served (order_id, requested_at)
 WHERE r.channel_id = $1 AND r.order_id = served.order_id AND r.requested_at = served.requested_at
"""


async def forget_served_requests(
    conn: asyncpg.Connection | asyncpg.Pool, channel_id: uuid.UUID, served: Sequence[OrderRequest]
) -> None:
    """Delete the requests this poll served (after their downloads were committed)."""
    if served:
        await conn.execute(
            DELETE_SERVED,
            channel_id,
            [r.order_id for r in served],
            [r.requested_at for r in served],
        )
