"""Turning an order's due despatches and its state in BigCommerce into shipments to create (pure logic)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote

from common.bigcommerce.models import NewShipment, NewShipmentItem, OrderProduct, Shipment
from common.order_memory import OrderMemory
from common.shipping_rules import ships_in_parcel, units_to_ship

from status_writer.db.writeback import DueDespatch

SHIPPING_PROVIDER = "royalmail"
TRACKING_PAGE = "https://www.royalmail.com/track-your-item#/tracking-results/{}"


def tracking_link(tracking_number: str) -> str:
    """Royal Mail's tracking page for one tracking number."""
    return TRACKING_PAGE.format(quote(tracking_number, safe=""))


@dataclass(frozen=True)
class Resolved:
    """A despatch decided without sending anything (already in BigCommerce, nothing to ship, invalid)."""

    despatch_id: int
    state: Literal["written", "failed", "not_written"]
    reason: str | None = None
    shipment_ids: tuple[int, ...] = ()
    # False when written because a parcel with its tracking number is already there, not because
    # its own recorded request was found: that request is not what the shipment holds
    request_matched: bool = True


@dataclass(frozen=True)
class ShipmentPlan:
    """One shipment to create and the despatches it (partly) writes."""

    body: NewShipment
    despatch_ids: tuple[int, ...]


@dataclass
class OrderPlan:
    """What to do for one order: decided despatches, shipments to create, and units left to ship after them."""

    order_id: int
    resolved: list[Resolved] = field(default_factory=list)
    shipments: list[ShipmentPlan] = field(default_factory=list)
    # physical units still unshipped per line once every planned shipment is created
    units_left: dict[int, int] = field(default_factory=dict)
    # reasons worth keeping on a despatch once written (e.g. fewer units than asked were left)
    notes: dict[int, str] = field(default_factory=dict)


def shippable_lines(products: Iterable[OrderProduct]) -> dict[int, OrderProduct]:
    """The order's lines that travel in a parcel, by order_product_id."""
    return {p.id: p for p in products if ships_in_parcel(p)}


def units_unshipped(lines: dict[int, OrderProduct], shipments: Sequence[Shipment] = ()) -> dict[int, int]:
    """Units of each line neither shipped (by its count or the order's shipments) nor refunded."""
    in_shipments: dict[int, int] = {}
    for shipment in shipments:
        for item in shipment.items:
            in_shipments[item.order_product_id] = in_shipments.get(item.order_product_id, 0) + item.quantity
    return {pid: units_to_ship(p, in_shipments.get(pid, 0)) for pid, p in lines.items()}


def find_match(body: NewShipment, shipments: Sequence[Shipment]) -> Shipment | None:
    """The existing shipment that is this request already created (tracking number, address, items)."""
    return next((s for s in shipments if body.matches(s)), None)


@dataclass
class _Bucket:
    order_address_id: int
    tracking_number: str | None
    service_name: str | None = None
    items: dict[int, int] = field(default_factory=dict)
    despatch_ids: list[int] = field(default_factory=list)

    def plan(self) -> ShipmentPlan:
        body = NewShipment(
            order_address_id=self.order_address_id,
            items=[
                NewShipmentItem(order_product_id=pid, quantity=q) for pid, q in sorted(self.items.items())
            ],
            tracking_number=self.tracking_number,
            shipping_provider=SHIPPING_PROVIDER,
            tracking_carrier="",
            tracking_link=tracking_link(self.tracking_number) if self.tracking_number else None,
            shipping_method=self.service_name,
        )
        return ShipmentPlan(body=body, despatch_ids=tuple(self.despatch_ids))


def plan_order(
    order_id: int,
    despatches: Sequence[DueDespatch],
    products: Sequence[OrderProduct],
    shipments: Sequence[Shipment],
) -> OrderPlan:
    """Decide the shipments for one order's due despatches, given what BigCommerce already has.

    A despatch whose recorded request already exists as a shipment is written (a crash or lost
    response after the POST). The others ship only units still unshipped, so a despatch that
    arrives twice, or one the merchant shipped by hand, never ships anything twice. Despatches
    of one order with the same address and tracking number become one shipment.
    """
    plan = OrderPlan(order_id=order_id)
    lines = shippable_lines(products)
    left = units_unshipped(lines, shipments)
    addresses = {p.order_address_id for p in lines.values()}
    buckets: dict[tuple[int, str], _Bucket] = {}
    for despatch in despatches:
        if despatch.state == "posting" and despatch.request:
            found = [find_match(NewShipment.model_validate(b), shipments) for b in despatch.request]
            if all(s is not None for s in found):
                ids = tuple(s.id for s in found if s is not None)
                plan.resolved.append(Resolved(despatch.id, "written", None, ids))
                continue
        wanted, problem = _wanted_units(order_id, despatch, lines, left, addresses)
        if problem is not None:
            plan.resolved.append(Resolved(despatch.id, "failed", problem))
            continue
        if not wanted:
            plan.resolved.append(_nothing_left(despatch, shipments))
            continue
        if despatch.items is not None and any(
            wanted.get(i.order_product_id, 0) < i.quantity for i in despatch.items
        ):
            plan.notes[despatch.id] = (
                "some units had already shipped in BigCommerce; wrote the units still unshipped"
            )
        for pid, quantity in wanted.items():
            left[pid] -= quantity
            address_id = lines[pid].order_address_id
            key = (address_id, despatch.tracking_number or "")
            bucket = buckets.setdefault(key, _Bucket(address_id, despatch.tracking_number))
            bucket.items[pid] = bucket.items.get(pid, 0) + quantity
            if despatch.id not in bucket.despatch_ids:
                bucket.despatch_ids.append(despatch.id)
            bucket.service_name = bucket.service_name or despatch.service_name
    plan.shipments = [b.plan() for b in buckets.values()]
    plan.units_left = left
    return plan


def _wanted_units(
    order_id: int,
    despatch: DueDespatch,
    lines: dict[int, OrderProduct],
    left: dict[int, int],
    addresses: set[int],
) -> tuple[dict[int, int], str | None]:
    """Units per line this despatch ships now, or the plain reason it cannot be written."""
    address_id = despatch.order_address_id
    if address_id is not None and address_id not in addresses:
        return {}, f"order_address_id {address_id} is not a shipping address of order {order_id}"
    if despatch.items is None:
        return {
            pid: left[pid]
            for pid, line in lines.items()
            if left[pid] > 0 and (address_id is None or line.order_address_id == address_id)
        }, None
    wanted: dict[int, int] = {}
    for item in despatch.items:
        line = lines.get(item.order_product_id)
        if line is None:
            return {}, f"order_product_id {item.order_product_id} is not a physical item of order {order_id}"
        if address_id is not None and line.order_address_id != address_id:
            return (
                {},
                f"order_product_id {item.order_product_id} does not ship to order_address_id {address_id}",
            )
        quantity = min(item.quantity, left[item.order_product_id])
        if quantity > 0:
            wanted[item.order_product_id] = quantity
    return wanted, None


def _nothing_left(despatch: DueDespatch, shipments: Sequence[Shipment]) -> Resolved:
    """Every unit this despatch names has shipped: written if its parcel is there, else not written."""
    if despatch.tracking_number:
        for shipment in shipments:
            same_address = despatch.order_address_id in (None, shipment.order_address_id)
            if shipment.tracking_number == despatch.tracking_number and same_address:
                return Resolved(
                    despatch.id,
                    "written",
                    f"already in BigCommerce as shipment {shipment.id}",
                    (shipment.id,),
                    request_matched=False,
                )
    return Resolved(despatch.id, "not_written", "every item was already shipped in BigCommerce")


def fully_shipped(units_left: dict[int, int]) -> bool:
    """Whether no physical unit of the order remains to ship (an order with none counts as shipped)."""
    return all(quantity == 0 for quantity in units_left.values())


def lines_from_memory(memory: OrderMemory) -> list[OrderProduct]:
    """The order's lines as remembered at download: per consignment, the units it had to ship.

    Planned against the connector's own shipments since, this is what is left to ship unless
    someone else shipped, refunded or edited the order in between (BigCommerce then refuses the
    shipment, or the plan is not exact, and the order is read instead).
    """
    return [
        OrderProduct(id=item.order_product_id, order_address_id=c.order_address_id, quantity=item.quantity)
        for c in memory.consignments
        for item in c.items
    ]


def ships_exactly(plan: OrderPlan, despatches: Sequence[DueDespatch]) -> bool:
    """Whether the plan ships every despatch in full: none decided without a shipment, none cut short."""
    planned = {i for p in plan.shipments for i in p.despatch_ids}
    return not plan.resolved and not plan.notes and all(d.id in planned for d in despatches)


def cancel(plan: OrderPlan, reason: str) -> OrderPlan:
    """The plan for an order that will not ship: nothing is posted; what is already written stays."""
    cancelled = OrderPlan(order_id=plan.order_id, units_left=plan.units_left)
    for resolved in plan.resolved:
        kept = resolved.state == "written"
        cancelled.resolved.append(resolved if kept else Resolved(resolved.despatch_id, "failed", reason))
    for despatch_id in dict.fromkeys(i for p in plan.shipments for i in p.despatch_ids):
        cancelled.resolved.append(Resolved(despatch_id, "failed", reason))
    return cancelled
