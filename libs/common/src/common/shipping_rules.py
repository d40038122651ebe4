"""Which order lines ship, how many of their units are left to ship, and where they go.

One home for the rules the poller (what an `OrderDownloaded` carries) and the status writer
(what a shipment may still contain) must agree on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from common.bigcommerce.models import OrderProduct


def ships_in_parcel(line: OrderProduct) -> bool:
    """A line that travels in a parcel: physical and not picked up in store (reference §10.8).

    Digital and gift-certificate lines never ship; pickup (BOPIS) lines leave the shop by hand.
    """
    return line.type == "physical" and line.order_pickup_method_id == 0


def units_to_ship(line: OrderProduct, in_shipments: int = 0) -> int:
    """Units of a line neither shipped nor refunded (never below zero).

    An order in Awaiting Shipment normally has nothing shipped, but a merchant may ship part of it
    by hand or refund a unit first: neither a shipped nor a refunded unit should get a label.
    Shipped is the larger of the line's `quantity_shipped` and `in_shipments` (the units of the
    order's shipments for this line): they normally agree, but a shipment the line's count does
    not reflect yet still counts.
    """
    shipped = max(line.quantity_shipped, in_shipments)
    return max(0, line.quantity - shipped - line.quantity_refunded)


def lines_to_ship(lines: Iterable[OrderProduct]) -> list[OrderProduct]:
    """Lines that need a label: they ship in a parcel and have units left to ship, in their order."""
    return [line for line in lines if ships_in_parcel(line) and units_to_ship(line) > 0]


def only_address(address_ids: Sequence[int]) -> int | None:
    """The order's shipping address when it has exactly one, else None."""
    return address_ids[0] if len(address_ids) == 1 else None


def lacks_address(lines: Iterable[OrderProduct]) -> bool:
    """Whether a line that ships names no shipping address (`order_address_id` absent or 0)."""
    return any(ships_in_parcel(line) and line.order_address_id == 0 for line in lines)


def with_only_address(lines: Sequence[OrderProduct], address_ids: Sequence[int]) -> list[OrderProduct]:
    """Lines without an address (`order_address_id` absent or 0) ship to the order's only address.

    With several addresses (or none) nothing is guessed: such a line keeps 0 and the caller
    treats it as shipping to an unknown address.
    """
    only = only_address(address_ids)
    if only is None:
        return list(lines)
    return [
        line.model_copy(update={"order_address_id": only}) if line.order_address_id == 0 else line
        for line in lines
    ]
