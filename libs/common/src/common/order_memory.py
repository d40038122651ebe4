"""What the connector remembers of each order it downloaded, beside the exactly-once key.

Enough to tell what changed since (`OrderChanged`) and to plan a write-back without asking
BigCommerce again, never the whole order: the address is kept as a digest, so this memory holds
no customer data. It lives on `downloaded_orders` and goes with it (retention).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from common.events import Address, Consignment, DownloadedOrder


class RememberedItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    order_product_id: int
    # units to ship when last seen (ordered less shipped and refunded)
    quantity: int = Field(ge=0)


class RememberedConsignment(BaseModel):
    model_config = ConfigDict(frozen=True)

    order_address_id: int
    # SHA-256 of the address and the shipping method the shopper chose
    address_sha256: str
    items: tuple[RememberedItem, ...]


class OrderMemory(BaseModel):
    """An order as last seen: its status and, per consignment, where it goes and what ships."""

    model_config = ConfigDict(frozen=True)

    status_id: int
    consignments: tuple[RememberedConsignment, ...]

    def consignments_column(self) -> list[dict[str, Any]]:
        """The `downloaded_orders.consignments` column's value (the pool encodes jsonb)."""
        return [c.model_dump(mode="json") for c in self.consignments]


def address_digest(consignment: Consignment) -> str:
    """A digest that changes when any address field or the shipping method changes."""
    return digest_of(consignment.address, consignment.shipping_method)


def digest_of(address: Address, shipping_method: str) -> str:
    """`address_digest` of an address and shipping method, also where no line ships to them any more."""
    fields = address.model_dump(mode="json")
    fields["shipping_method"] = shipping_method
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def remember(order: DownloadedOrder) -> OrderMemory:
    """The memory of an order in `OrderDownloaded`'s shape."""
    return OrderMemory(
        status_id=order.status_id,
        consignments=tuple(
            RememberedConsignment(
                order_address_id=c.order_address_id,
                address_sha256=address_digest(c),
                items=tuple(
                    RememberedItem(order_product_id=i.order_product_id, quantity=i.quantity)
                    for i in sorted(c.items, key=lambda item: item.order_product_id)
                ),
            )
            for c in sorted(order.consignments, key=lambda c: c.order_address_id)
        ),
    )


def memory_from_row(status_id: int | None, consignments: list[Any] | None) -> OrderMemory | None:
    """The memory read back from `downloaded_orders`; None for rows written before it was kept."""
    if status_id is None or consignments is None:
        return None
    return OrderMemory(
        status_id=status_id,
        consignments=tuple(RememberedConsignment.model_validate(c) for c in consignments),
    )
