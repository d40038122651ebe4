"""Status webhooks for orders already downloaded: a move someone else made requests the order
(OrderChanged), the connector's own write-back requests nothing."""

from __future__ import annotations

import uuid

from bigcommerce_sandbox.merchant import Merchant
from common.db.despatches import record_despatch
from common.events import OrderDespatched

from tests.support.auth_gateway import GatewayRig

REQUESTED = (
    "SELECT r.order_id FROM order_download_requests r JOIN channels c ON c.id = r.channel_id"
    " WHERE c.store_hash = $1 ORDER BY r.order_id"
)


async def remember_download(rig: GatewayRig, store_hash: str, channel_id: uuid.UUID, order_id: int) -> None:
    await rig.pool.execute(
        "INSERT INTO downloaded_orders (store_hash, order_id, channel_id, event_id, date_modified)"
        " VALUES ($1, $2, $3, $4, now())",
        store_hash,
        order_id,
        channel_id,
        uuid.uuid4(),
    )


async def test_moves_of_downloaded_orders_request_them_unless_they_are_our_writeback(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)  # downloads Awaiting Shipment (9) only
    merchant = Merchant(rig.sandbox, store.hash)
    cancelled, by_hand, ours, unknown = (rig.sandbox.add_order(store.hash) for _ in range(4))
    for order in (cancelled, by_hand, ours):
        await remember_download(rig, store.hash, channel_id, order.id)
    despatch = OrderDespatched(
        channel_id=channel_id, store_hash=store.hash, order_id=ours.id, despatched_at=rig.sandbox.now()
    )
    async with rig.pool.acquire() as conn:
        assert await record_despatch(conn, despatch)

    await merchant.cancel(cancelled.id)
    await merchant.ship_by_hand(by_hand.id)
    await merchant.ship_by_hand(ours.id)  # as our writer's shipment POST moves it
    await merchant.cancel(unknown.id)  # never downloaded

    requested = [r["order_id"] for r in await rig.pool.fetch(REQUESTED, store.hash)]
    assert requested == [cancelled.id, by_hand.id]
