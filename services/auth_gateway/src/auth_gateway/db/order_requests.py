"""Per-order download requests a status webhook records for the poller (table order_download_requests)."""

from __future__ import annotations

import uuid

import asyncpg
from common.db.channels import POLL_REQUESTED_CHANNEL

# One statement: the channel must be active and download the order's new status, else nothing is
# written. A repeated request for a waiting order moves its time on (the poller serves it once).
REQUEST_ORDER = """
WITH channel AS (
    UPDATE channels SET orders_requested_at = now()
     WHERE id = $1 AND status = 'active' AND ($3::integer = ANY (order_status_ids) OR $4::boolean)
    RETURNING id
)
INSERT INTO order_download_requests (channel_id, order_id, requested_at)
SELECT id, $2, now() FROM channel
ON CONFLICT (channel_id, order_id) DO UPDATE SET requested_at = EXCLUDED.requested_at
RETURNING true
"""


async def request_order_download(
    conn: asyncpg.Connection,
    channel_id: uuid.UUID,
    order_id: int,
    new_status_id: int,
    *,
    downloaded_order_moved: bool = False,
) -> bool:
    """Ask the pollers to download one order now; False (nothing written) when the channel is not
    active or does not download orders in `new_status_id` (unless `downloaded_order_moved`: an order
    it downloaded moved, not by our write-back, and is fetched to judge an OrderChanged). The NOTIFY
    only wakes an idle poller."""
    if (
        await conn.fetchval(REQUEST_ORDER, channel_id, order_id, new_status_id, downloaded_order_moved)
        is None
    ):
        return False
    await conn.execute("SELECT pg_notify($1, $2)", POLL_REQUESTED_CHANNEL, str(channel_id))
    return True
