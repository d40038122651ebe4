"""A channel's sync health beyond its own fields: orders downloaded and skipped, write-backs that failed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from common.db.despatches import DespatchView, list_despatches
from common.db.order_counts import OrderCounts, order_counts

from auth_gateway.context import Gateway

# The page lists this many orders whose write-back failed, newest first; the API lists them all.
FAILED_SHOWN = 50


@dataclass(frozen=True)
class FailedWriteBack:
    """An order whose despatches BigCommerce refused, with its reasons (Retry queues them all again)."""

    order_id: int
    tracking_numbers: tuple[str, ...]
    reasons: tuple[str, ...]
    last_tried_at: datetime


@dataclass(frozen=True)
class SyncHealth:
    counts: OrderCounts
    failed: tuple[FailedWriteBack, ...]
    more_failed: bool


def _by_order(despatches: list[DespatchView]) -> list[FailedWriteBack]:
    orders: dict[int, list[DespatchView]] = {}
    for despatch in despatches:  # newest first: an order's place is that of its latest failure
        orders.setdefault(despatch.order_id, []).append(despatch)
    return [
        FailedWriteBack(
            order_id=order_id,
            tracking_numbers=tuple(dict.fromkeys(d.tracking_number for d in rows if d.tracking_number)),
            reasons=tuple(dict.fromkeys(d.reason or "no reason given" for d in rows)),
            last_tried_at=rows[0].updated_at,
        )
        for order_id, rows in orders.items()
    ]


async def read_sync_health(gateway: Gateway, channel_id: uuid.UUID) -> SyncHealth:
    async with gateway.pool.acquire() as conn:
        counts = await order_counts(conn, channel_id)
        # one order may hold several failed despatches: read enough to fill the page with orders
        failed = await list_despatches(conn, channel_id, "failed", limit=FAILED_SHOWN * 4 + 1)
    orders = _by_order(failed)
    return SyncHealth(
        counts=counts,
        failed=tuple(orders[:FAILED_SHOWN]),
        more_failed=len(orders) > FAILED_SHOWN or len(failed) > FAILED_SHOWN * 4,
    )
