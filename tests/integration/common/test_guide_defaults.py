"""A new channel downloads 'Awaiting Shipment' and completes despatched orders, as the guide says.

The defaults are the `channels` columns' (migration 0001); this ties them to `common.guide`.
"""

from __future__ import annotations

import asyncpg
from auth_gateway.db.grants import lock_or_create_channel
from common import guide
from common.bigcommerce.statuses import DESPATCHED_ORDER_STATUS_IDS
from common.db.channels import get_channel


async def test_a_new_channel_follows_the_guide(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        locked = await lock_or_create_channel(conn, "guide1")
    channel = await get_channel(pool, locked.id)
    assert channel is not None
    assert channel.order_status_ids == [guide.DOWNLOADED_STATUS_ID]
    assert DESPATCHED_ORDER_STATUS_IDS[channel.despatched_order_status] == guide.DESPATCHED_STATUS_ID
    assert channel.mark_orders_as_despatched  # "Mark orders as despatched" ticked, as in the guide
