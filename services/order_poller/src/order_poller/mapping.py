"""From a BigCommerce order, its lines and addresses to the `OrderDownloaded` event (CONTRACT §3)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from common.bigcommerce.models import Order, OrderProduct, ShippingAddress
from common.errors import first_problem
from common.events import (
    Address,
    Consignment,
    DownloadedItem,
    DownloadedOrder,
    OrderDownloaded,
)
from common.shipping_rules import lines_to_ship, units_to_ship, with_only_address
from pydantic import ValidationError

from order_poller.units import UnknownWeightUnitError, grams_per_unit, is_missing

SkipReason = Literal[
    "digital_order",
    "archived",
    "no_physical_items",
    "unknown_weight_unit",
    "not_found",
    "malformed",
    "too_large",
    "too_slow",
]

# Reasons that hold until the order itself changes (its date_modified moves); the others are
# retried on every poll, since the window is read again anyway.
FINAL_REASONS: frozenset[str] = frozenset({"digital_order", "archived", "no_physical_items"})

# Stable per store and order, so even a replayed outbox row carries the same event_id.
_EVENT_NAMESPACE = uuid.UUID("6f1f3d1e-8b7a-4c36-9a53-0b8a3f6f2d41")


class OrderSkippedError(Exception):
    """The order is not published; `reason` is one of `SkipReason`, `detail` says why in words."""

    def __init__(self, reason: SkipReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: SkipReason = reason
        self.detail = detail

    @property
    def final(self) -> bool:
        return self.reason in FINAL_REASONS


def event_id_for(store_hash: str, order_id: int) -> uuid.UUID:
    """The one event id an order of a store is ever published under."""
    return uuid.uuid5(_EVENT_NAMESPACE, f"{store_hash}:{order_id}")


def check_listed(order: Order) -> None:
    """Skip what the list already shows cannot ship, before any further request.

    Raises:
        OrderSkippedError: archived or entirely digital order.
    """
    if order.is_deleted:
        raise OrderSkippedError("archived", "the order is archived in BigCommerce")
    if order.order_is_digital:
        raise OrderSkippedError("digital_order", "the order has only digital items")


# The line fields an event needs that have no safe default. BigCommerce documents a consignment's
# expanded line items as the same order product objects `/products` returns (`orderProducts`,
# reference §4.4, §4.6), but one report says they can lack the weights `/products` has: an order
# whose listed lines lack one of these is read from `/products` instead. `id` is the order_product_id
# shipments name, `type` keeps digital lines and gift certificates out, `quantity` (with the
# shipped/refunded counts, 0 when absent in both views) sizes the item, `price_inc_tax` and `weight`
# are the item's value and weight. The other fields (sku, name, product and variant ids) read the
# same way in both views.
LISTED_LINE_NEEDS: tuple[str, ...] = ("id", "type", "quantity", "price_inc_tax", "weight")


def listed_lines(
    order: Order, needs: Sequence[str] = LISTED_LINE_NEEDS
) -> tuple[list[OrderProduct], list[ShippingAddress]] | None:
    """The order's lines and shipping addresses from the listing's expanded consignments.

    None when the listing cannot stand in for `/products` + `/shipping_addresses`: consignments
    not expanded (a server that ignored `include`), or a line lacking one of `needs` (by default
    `LISTED_LINE_NEEDS`, what an event needs).
    Pickup, digital and gift-certificate lines sit in other consignments than `shipping`
    (reference §4.6); none of them ships, so reading only `shipping` leaves out nothing that does.
    """
    if order.consignments is None:
        return None
    lines: list[OrderProduct] = []
    addresses: list[ShippingAddress] = []
    for consignment in order.consignments.shipping:
        addresses.append(consignment.address())
        for raw in consignment.line_items:
            line = _listed_line(raw, consignment.id, needs)
            if line is None:
                return None
            lines.append(line)
    return lines, addresses


def _listed_line(raw: Any, address_id: int, needs: Sequence[str]) -> OrderProduct | None:
    if not isinstance(raw, dict) or any(raw.get(name) in (None, "") for name in needs):
        return None
    try:
        # the consignment says where the line ships, whatever the line's own field says
        return OrderProduct.model_validate({**raw, "order_address_id": address_id})
    except ValidationError:
        return None  # /products decides whether the order is malformed


def _address(source: ShippingAddress) -> Address:
    return Address(
        first_name=source.first_name,
        last_name=source.last_name,
        company=source.company,
        street_1=source.street_1,
        street_2=source.street_2,
        city=source.city,
        state=source.state,
        zip=source.zip,
        country=source.country,
        country_iso2=source.country_iso2,
        phone=source.phone,
        email=source.email,
    )


def _item(line: OrderProduct, grams_per: Decimal) -> DownloadedItem:
    if line.weight < 0:
        raise OrderSkippedError("malformed", f"line {line.id} has a negative weight")
    if line.price_inc_tax < 0:
        raise OrderSkippedError("malformed", f"line {line.id} has a negative price")
    return DownloadedItem(
        order_product_id=line.id,
        product_id=line.product_id,
        variant_id=line.variant_id,
        sku=line.sku,
        name=line.name,
        quantity=units_to_ship(line),
        # v2 price_inc_tax is per unit (total_inc_tax is the line total)
        unit_price_inc_tax=line.price_inc_tax,
        weight_grams=line.weight * grams_per,
    )


def build_event(
    *,
    channel_id: uuid.UUID,
    store_hash: str,
    trading_name: str,
    weight_units: str | None,
    order: Order,
    lines: Sequence[OrderProduct],
    addresses: Sequence[ShippingAddress],
    occurred_at: datetime,
) -> OrderDownloaded:
    """The event of a downloadable order: one consignment per shipping address with its lines.

    Raises:
        OrderSkippedError: nothing physical to ship, an unknown weight unit, or malformed data.
    """
    check_listed(order)
    shippable = lines_to_ship(lines)
    if not shippable:
        raise OrderSkippedError("no_physical_items", "the order has no physical item left to ship")
    try:
        # a store that reports no unit at all: the weight is unknown, sent as 0 rather than guessed
        grams_per = Decimal(0) if is_missing(weight_units) else grams_per_unit(weight_units)
    except UnknownWeightUnitError as error:
        raise OrderSkippedError("unknown_weight_unit", str(error)) from None
    by_id = {address.id: address for address in addresses}
    groups: dict[int, list[OrderProduct]] = {}
    for line in with_only_address(shippable, [address.id for address in addresses]):
        address_id = line.order_address_id
        if address_id not in by_id:
            raise OrderSkippedError("malformed", f"line {line.id} ships to unknown address {address_id}")
        groups.setdefault(address_id, []).append(line)
    try:
        consignments = [
            Consignment(
                order_address_id=address_id,
                address=_address(by_id[address_id]),
                shipping_method=by_id[address_id].shipping_method,
                items=[_item(line, grams_per) for line in sorted(group, key=lambda ln: ln.id)],
            )
            for address_id, group in sorted(groups.items())
        ]
        downloaded = DownloadedOrder(
            order_id=order.id,
            status_id=order.status_id,
            date_created=order.date_created,
            date_modified=order.modified_at,
            currency_code=order.currency_code,
            subtotal_inc_tax=order.subtotal_inc_tax,
            shipping_cost_inc_tax=order.shipping_cost_inc_tax,
            total_inc_tax=order.total_inc_tax,
            customer_message=order.customer_message,
            billing_address=Address.model_validate(order.billing_address.model_dump()),
            consignments=consignments,
        )
        return OrderDownloaded(
            event_id=event_id_for(store_hash, order.id),
            occurred_at=occurred_at,
            channel_id=channel_id,
            store_hash=store_hash,
            trading_name=trading_name,
            order=downloaded,
        )
    except ValidationError as error:
        raise OrderSkippedError("malformed", first_problem(error)) from None
