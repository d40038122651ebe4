"""What the writer knows of an order without asking BigCommerce: the download's memory and its own writes."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from common.bigcommerce.models import Shipment
from common.order_memory import OrderMemory, memory_from_row
from pydantic import ValidationError


@dataclass
class OrderKnowledge:
    """One order as the connector last saw it, and the shipments it created itself."""

    # None for orders downloaded before the memory was kept, or not downloaded by this connector
    memory: OrderMemory | None = None
    # shipments this connector created, rebuilt from its written despatches' recorded requests
    own_shipments: list[Shipment] = field(default_factory=list)
    # a despatch of the order whose request may have reached BigCommerce and is not among the
    # shipments above (in flight, refused in part, or written without a known request)
    unaccounted: bool = False


SELECT_MEMORIES = """
SELECT order_id, status_id, consignments
  FROM downloaded_orders
 WHERE store_hash = $1 AND order_id = ANY($2::bigint[])
"""

# despatches_channel_order_idx; the due batch itself is left out (its despatches are planned)
SELECT_OWN_WRITES = """
SELECT order_id, state, request, shipment_ids
  FROM despatches
 WHERE channel_id = $1 AND order_id = ANY($2::bigint[]) AND NOT id = ANY($3::bigint[])
   AND (state = 'written' OR request IS NOT NULL)
"""


async def load_order_knowledge(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    channel_id: uuid.UUID,
    store_hash: str,
    order_ids: Collection[int],
    batch_ids: Collection[int],
) -> dict[int, OrderKnowledge]:
    """What is known of each of these orders, in two statements for the whole batch."""
    known = {order_id: OrderKnowledge() for order_id in order_ids}
    for row in await conn.fetch(SELECT_MEMORIES, store_hash, list(order_ids)):
        try:
            known[row["order_id"]].memory = memory_from_row(row["status_id"], row["consignments"])
        except ValidationError:
            known[row["order_id"]].memory = None  # unreadable memory: BigCommerce is read instead
    for row in await conn.fetch(SELECT_OWN_WRITES, channel_id, list(order_ids), list(batch_ids)):
        account_for_write(known[row["order_id"]], row["state"], row["request"], list(row["shipment_ids"]))
    return known


def account_for_write(knowledge: OrderKnowledge, state: str, request: Any, shipment_ids: list[int]) -> None:
    """Add one other despatch of the order: its shipments if it wrote them, else mark the order in doubt."""
    if state != "written" or not isinstance(request, list) or len(request) != len(shipment_ids):
        knowledge.unaccounted = True
        return
    seen = {s.id for s in knowledge.own_shipments}
    for body, shipment_id in zip(request, shipment_ids, strict=True):
        if shipment_id in seen:
            continue  # despatches sharing one shipment each recorded its body
        try:
            knowledge.own_shipments.append(Shipment.model_validate({**body, "id": shipment_id}))
        except (ValidationError, TypeError):
            knowledge.unaccounted = True
            return
        seen.add(shipment_id)
