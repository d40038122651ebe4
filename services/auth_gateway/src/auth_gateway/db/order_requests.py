"""Per-order download requests a status webhook records for the poller (table order_download_requests)."""

from __future__ import annotations

import uuid

import asyncpg
from common.db.channels import POLL_REQUESTED_CHANNEL

# One statement. A request is written when the channel is active and either the order moved into a
# status the channel downloads and is not downloaded yet, or ($4) it is downloaded and moved by
# someone else (for OrderChanged); never when the order is remembered in that very status already
# (downloaded_orders.status_id: the move is no news), nor when it is waiting already. So a burst of
# deliveries for one order, before or after its download, costs BigCommerce one fetch at most. The
# channel's orders_requested_at moves only with a new request (a poll under way then serves it next).
REQUEST_ORDER = """
WITH channel AS (
    SELECT c.id
      FROM channels c
      LEFT JOIN downloaded_orders d ON d.store_hash = c.store_hash AND d.order_id = $2
     WHERE c.id = $1 AND c.status = 'active'
       AND (($3::integer = ANY (c.order_status_ids) AND d.order_id IS NULL) OR $4::boolean)
       AND d.status_id IS DISTINCT FROM $3::integer
),
requested AS (
    INSERT INTO order_download_requests (channel_id, order_id)
    SELECT id, $2 FROM channel
    ON CONFLICT (channel_id, order_id) DO NOTHING
    RETURNING channel_id
)
UPDATE channels SET orders_requested_at = now()
  FROM requested
 WHERE channels.id = requested.channel_id
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
    """Ask the pollers to fetch one order now. False (nothing written) when the channel is not active,
    when the order is waiting already or remembered in `new_status_id` already, and, unless
    `downloaded_order_moved` (an order it downloaded moved, not by our write-back, and is fetched to
    judge an OrderChanged), when the channel does not download orders in `new_status_id` or has
    downloaded this one already. The NOTIFY only wakes an idle poller."""
    written = await conn.fetchval(REQUEST_ORDER, channel_id, order_id, new_status_id, downloaded_order_moved)
    if written is None:
        return False
    await conn.execute("SELECT pg_notify($1, $2)", POLL_REQUESTED_CHANNEL, str(channel_id))
    return True
