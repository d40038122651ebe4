"""Does a status webhook concern an order the store downloaded, moved by someone other than us?"""

from __future__ import annotations

import uuid

import asyncpg
from common.db.despatches import is_own_writeback, orders_with_own_despatch

# The status last seen (NULL for rows written before the memory was kept); no row: not downloaded.
SELECT_REMEMBERED_STATUS = """
SELECT COALESCE(status_id, -1) FROM downloaded_orders WHERE store_hash = $1 AND order_id = $2
"""


async def moves_downloaded_order(
    conn: asyncpg.Connection, channel_id: uuid.UUID, store_hash: str, order_id: int, new_status_id: int
) -> bool:
    """True when the store downloaded the order and this move is not our own write-back: the poller
    then fetches it to judge an OrderChanged (a move into a downloaded status is requested anyway).

    A move to the status the connector already remembers tells nothing new (BigCommerce repeats
    deliveries; the order was fetched since): a burst for one order costs one fetch, not one each.
    """
    remembered = await conn.fetchval(SELECT_REMEMBERED_STATUS, store_hash, order_id)
    if remembered is None or remembered == new_status_id:
        return False
    ours = order_id in await orders_with_own_despatch(conn, channel_id, [order_id])
    return not is_own_writeback(new_status_id, has_despatch=ours)
