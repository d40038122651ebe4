"""Does a status webhook concern an order the store downloaded, moved by someone other than us?"""

from __future__ import annotations

import uuid

import asyncpg
from common.db.despatches import is_own_writeback, orders_with_own_despatch

SELECT_DOWNLOADED = "SELECT true FROM downloaded_orders WHERE store_hash = $1 AND order_id = $2"


async def moves_downloaded_order(
    conn: asyncpg.Connection, channel_id: uuid.UUID, store_hash: str, order_id: int, new_status_id: int
) -> bool:
    """True when the store downloaded the order and this move is not our own write-back: the poller
    then fetches it to judge an OrderChanged (a move into a downloaded status is requested anyway;
    a move to the status already remembered is no news: `request_order_download` writes nothing)."""
    if not await conn.fetchval(SELECT_DOWNLOADED, store_hash, order_id):
        return False
    ours = order_id in await orders_with_own_despatch(conn, channel_id, [order_id])
    return not is_own_writeback(new_status_id, has_despatch=ours)
