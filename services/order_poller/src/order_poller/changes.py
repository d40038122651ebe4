"""What changed in a downloaded order since the connector last saw it (`OrderChanged`, CONTRACT §3).

Pure rules, no I/O. The order as it is now is reduced to what is compared (`Observed`) and set
against what the connector remembers (`common.order_memory`):

- `cancelled`: the status moved to Cancelled, Refunded or Declined (from any other status);
- `status`: any other move out of the statuses the channel downloads, unless it is the connector's
  own write-back (`common.db.despatches.is_own_writeback`: then nothing at all is announced);
- `address`: a consignment's address or shipping method changed, or a consignment came or went;
- `items`: a line came or went, or its units to ship changed. Units that left because the order
  moved (shipped by hand, refunded) are that move's doing, not an `items` change.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from common.bigcommerce.models import Order, OrderProduct, ShippingAddress
from common.bigcommerce.statuses import CANCELLED_STATUSES
from common.events import Address, OrderChange, OrderChanged
from common.order_memory import OrderMemory, RememberedConsignment, RememberedItem, digest_of
from common.shipping_rules import lines_to_ship, ships_in_parcel, units_to_ship, with_only_address

from order_poller.mapping import build_event, listed_lines

# Stable per store, order and what changed: a replayed find of the same change is the same event.
_CHANGE_NAMESPACE = uuid.UUID("0b7e3c52-6d0f-4f57-a2c4-3c8d5e9f1a60")


@dataclass(frozen=True)
class ObservedConsignment:
    """One shipping address of the order now, with every parcel line, shipped or not."""

    order_address_id: int
    address_sha256: str
    # order_product_id -> units left to ship (0 once shipped or refunded)
    units: dict[int, int]


@dataclass(frozen=True)
class Observed:
    """The order as BigCommerce shows it now, reduced to what a change is judged on."""

    status_id: int
    consignments: tuple[ObservedConsignment, ...]

    def memory(self) -> OrderMemory:
        """What to remember from now on: `remember`'s shape (consignments and lines left to ship)."""
        kept = []
        for consignment in sorted(self.consignments, key=lambda c: c.order_address_id):
            items = tuple(
                RememberedItem(order_product_id=line_id, quantity=units)
                for line_id, units in sorted(consignment.units.items())
                if units > 0
            )
            if items:
                kept.append(
                    RememberedConsignment(
                        order_address_id=consignment.order_address_id,
                        address_sha256=consignment.address_sha256,
                        items=items,
                    )
                )
        return OrderMemory(status_id=self.status_id, consignments=tuple(kept))


def observe(order: Order, lines: Sequence[OrderProduct], addresses: Sequence[ShippingAddress]) -> Observed:
    """Reduce an order, its lines and shipping addresses to what is compared."""
    units: dict[int, dict[int, int]] = {a.id: {} for a in addresses}
    for line in with_only_address(lines, [a.id for a in addresses]):
        if ships_in_parcel(line):
            units.setdefault(line.order_address_id, {})[line.id] = units_to_ship(line)
    by_id = {a.id: a for a in addresses}
    return Observed(
        status_id=order.status_id,
        consignments=tuple(
            ObservedConsignment(
                order_address_id=address_id,
                address_sha256=_digest(by_id.get(address_id)),
                units=lines_here,
            )
            # an address with no parcel line (digital only) is not a consignment Click & Drop knows
            for address_id, lines_here in sorted(units.items())
            if lines_here
        ),
    )


# What a listed line needs to be compared: which line, whether it ships, and how many units.
COMPARED_LINE_NEEDS: tuple[str, ...] = ("id", "type", "quantity")


def compared_lines(order: Order) -> tuple[list[OrderProduct], list[ShippingAddress]] | None:
    """The listed consignments' lines and addresses, enough to compare though perhaps not to publish
    (a price or weight missing reads as 0 here); None as for `listed_lines`."""
    return listed_lines(order, COMPARED_LINE_NEEDS)


def _digest(shipping: ShippingAddress | None) -> str:
    if shipping is None:
        return ""  # a line pointing at no address: the mapping refuses such an order anyway
    return digest_of(Address.model_validate(shipping.model_dump()), shipping.shipping_method)


def detect(
    before: OrderMemory, now: Observed, *, downloaded_statuses: Collection[int]
) -> tuple[OrderChange, ...]:
    """The changes to announce, in the contract's order; empty for a touch.

    Our own write-back is never judged here: the caller passes it over first (`is_own_writeback`).
    """
    changes: list[OrderChange] = []
    moved = now.status_id != before.status_id
    if moved and now.status_id in CANCELLED_STATUSES:
        if before.status_id not in CANCELLED_STATUSES:
            changes.append("cancelled")
    elif moved and now.status_id not in downloaded_statuses and before.status_id in downloaded_statuses:
        # a move out of the downloaded statuses; one between statuses outside them (Shipped, then
        # Completed) is no news to Click & Drop, which was told the first time
        changes.append("status")
    if _address_changed(before, now):
        changes.append("address")
    if _items_changed(before, now, moved=moved):
        changes.append("items")
    return tuple(changes)


def _address_changed(before: OrderMemory, now: Observed) -> bool:
    seen = {c.order_address_id: c for c in now.consignments}
    for remembered in before.consignments:
        current = seen.get(remembered.order_address_id)
        if current is None or current.address_sha256 != remembered.address_sha256:
            return True  # gone from the order, or it goes elsewhere now
    remembered_ids = {c.order_address_id for c in before.consignments}
    # a new consignment with something to ship (one merely shipped out of the memory is no news)
    return any(c.order_address_id not in remembered_ids and any(c.units.values()) for c in now.consignments)


def _items_changed(before: OrderMemory, now: Observed, *, moved: bool) -> bool:
    remembered = {i.order_product_id: i.quantity for c in before.consignments for i in c.items}
    current = {line_id: units for c in now.consignments for line_id, units in c.units.items()}
    for line_id, units in remembered.items():
        left = current.get(line_id)
        if left is None:
            return True  # the line was removed (or is no parcel any more)
        # fewer units with the status moved: shipped or refunded, which the status change tells
        if left > units or (left < units and not moved):
            return True
    return any(units > 0 and line_id not in remembered for line_id, units in current.items())


def needs_memory_update(before: OrderMemory, now: Observed) -> bool:
    """Whether to remember `now`, announced or not (never after our own write-back, which the caller
    passes over: the writer plans from what was downloaded and its own despatches)."""
    return before != now.memory()


def change_event_id(
    store_hash: str, order_id: int, date_modified: datetime, memory: OrderMemory
) -> uuid.UUID:
    """One id per store, order, version and new memory: a replay of the same find is the same event."""
    canonical = json.dumps(memory.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    fingerprint = hashlib.sha256(canonical.encode()).hexdigest()
    return uuid.uuid5(_CHANGE_NAMESPACE, f"{store_hash}:{order_id}:{date_modified.isoformat()}:{fingerprint}")


def as_ordered(line: OrderProduct) -> OrderProduct:
    """The line as ordered: nothing shipped or refunded yet."""
    return line.model_copy(update={"quantity_shipped": 0, "quantity_refunded": 0})


def build_changed_event(
    *,
    channel_id: uuid.UUID,
    store_hash: str,
    trading_name: str,
    weight_units: str | None,
    order: Order,
    lines: Sequence[OrderProduct],
    addresses: Sequence[ShippingAddress],
    downloaded_event_id: uuid.UUID,
    changes: Sequence[OrderChange],
    memory: OrderMemory,
    occurred_at: datetime,
) -> OrderChanged:
    """`OrderChanged` with the order as it is now, in `OrderDownloaded`'s shape.

    While units are left to ship, `consignments` hold them exactly as `OrderDownloaded` does. Once
    nothing is left (shipped by hand, refunded), each consignment lists its parcel lines at the
    quantity ordered: the contract's consignments need a line with a positive quantity, and
    `changes` (`cancelled` or `status`) already says that nothing is to be shipped.

    Raises:
        OrderSkippedError: the order is archived, entirely digital, malformed, or its weight unit unknown.
    """
    left = bool(lines_to_ship(lines))
    downloaded = build_event(
        channel_id=channel_id,
        store_hash=store_hash,
        trading_name=trading_name,
        weight_units=weight_units,
        order=order,
        lines=lines if left else [as_ordered(line) for line in lines],
        addresses=addresses,
        occurred_at=occurred_at,
    )
    return OrderChanged(
        event_id=change_event_id(store_hash, order.id, order.modified_at, memory),
        occurred_at=occurred_at,
        channel_id=channel_id,
        store_hash=store_hash,
        trading_name=trading_name,
        downloaded_event_id=downloaded_event_id,
        changes=list(changes),
        order=downloaded.order,
    )
