"""v2 order shipments: validation, creation and its effects on the order (reference §5)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from bigcommerce_sandbox import webhooks
from bigcommerce_sandbox.api import (
    int_path,
    json_object,
    order_of,
    paginate,
    sandbox_of,
    store_of,
    v2_list,
)
from bigcommerce_sandbox.errors import ApiError, read_only_field
from bigcommerce_sandbox.models import Order, Shipment, ShipmentItem
from bigcommerce_sandbox.serialize import shipment_json

routes = web.RouteTableDef()
PREFIX = "/stores/{store_hash}/v2/orders/{order_id}/shipments"

SHIPPING_PROVIDERS = frozenset(
    {
        "",
        "auspost",
        "canadapost",
        "endicia",
        "usps",
        "fedex",
        "royalmail",
        "ups",
        "upsready",
        "upsonline",
        "shipperhq",
    }
)
_CARRIER_PROVIDER = re.compile(r"^carrier_\d+$")
_AFTERSHIP_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MAX_LENGTHS = {"tracking_number": 50, "tracking_link": 500, "comments": 65535, "shipping_method": 250}
# Text fields a create or update sets as sent.
DETAIL_FIELDS = (
    "tracking_number",
    "tracking_link",
    "shipping_method",
    "shipping_provider",
    "tracking_carrier",
    "comments",
)
EDITABLE_FIELDS = frozenset({"order_address_id", *DETAIL_FIELDS, "merchant_shipping_cost"})
CREATE_FIELDS = EDITABLE_FIELDS | {"items"}
STATUS_SHIPPED = 2
STATUS_PARTIALLY_SHIPPED = 3


def _validate_details(body: dict[str, Any], allowed: frozenset[str]) -> None:
    """Check writable fields, lengths and enums shared by create and update."""
    for name in body:
        if name not in allowed:
            raise read_only_field(name)
    for name, limit in MAX_LENGTHS.items():
        value = body.get(name, "")
        if not isinstance(value, str):
            raise ApiError(400, f"The field '{name}' is invalid.")
        if len(value) > limit:
            raise ApiError(400, f"The field '{name}' cannot be longer than {limit} characters.")
    provider = body.get("shipping_provider", "")
    if not isinstance(provider, str) or not (
        provider in SHIPPING_PROVIDERS or _CARRIER_PROVIDER.match(provider)
    ):
        raise ApiError(400, "The field 'shipping_provider' is invalid.")
    carrier = body.get("tracking_carrier", "")
    if not isinstance(carrier, str) or (carrier and not _AFTERSHIP_SLUG.match(carrier)):
        raise ApiError(400, "The field 'tracking_carrier' is invalid.")
    if "merchant_shipping_cost" in body:
        _decimal(body["merchant_shipping_cost"])


def _check_provider_and_carrier(provider: str, carrier: str) -> None:
    """Refuse a shipping provider together with an AfterShip carrier slug.

    Whether BigCommerce accepts the pair is unverified (reference §5.1): stricter to refuse it.
    """
    if provider and carrier:
        raise ApiError(400, "The fields 'shipping_provider' and 'tracking_carrier' cannot both be set.")


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ApiError(400, "The field 'merchant_shipping_cost' is invalid.")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ApiError(400, "The field 'merchant_shipping_cost' is invalid.") from None


def _address_id(order: Order, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or order.address(value) is None:
        raise ApiError(400, "The field 'order_address_id' is invalid.")
    return value


def _validate_items(order: Order, address_id: int, raw: Any) -> list[ShipmentItem]:
    """Items must name physical lines of this address and fit the unshipped quantity."""
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "The field 'items' is invalid.")
    wanted: dict[int, int] = {}
    for entry in raw:
        if not isinstance(entry, dict):
            raise ApiError(400, "The field 'items' is invalid.")
        for name in entry:
            if name not in ("order_product_id", "quantity"):
                raise read_only_field(name)
        line_id, quantity = entry.get("order_product_id"), entry.get("quantity")
        if not isinstance(line_id, int) or isinstance(line_id, bool):
            raise ApiError(400, "The required field 'order_product_id' was not supplied.")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise ApiError(400, "The field 'quantity' is invalid.")
        line = order.line(line_id)
        if line is None:
            raise ApiError(400, f"Order product {line_id} does not belong to this order.")
        if line.type != "physical" or line.order_address_id != address_id:
            raise ApiError(400, f"Order product {line_id} does not ship to address {address_id}.")
        if line.order_pickup_method_id:
            # Pickup lines are collected, not shipped (reference §10.8); whether BigCommerce
            # refuses to ship them is unverified, so the sandbox takes the stricter reading.
            raise ApiError(400, f"Order product {line_id} is collected by the customer.")
        wanted[line_id] = wanted.get(line_id, 0) + quantity
    items = []
    for line_id, quantity in wanted.items():
        line = order.line(line_id)
        assert line is not None
        if quantity > line.remaining:
            # The real wording is unverified (reference §5.2); 400 like other v2 validation.
            raise ApiError(
                400,
                f"The quantity specified for order product {line_id} is greater than the "
                f"quantity remaining to ship ({line.remaining}).",
            )
        items.append(ShipmentItem(line_id, line.product_id, quantity))
    return items


def _apply_details(shipment: Shipment, body: dict[str, Any]) -> None:
    for name in DETAIL_FIELDS:
        if name in body:
            setattr(shipment, name, body[name])
    if "merchant_shipping_cost" in body:
        shipment.merchant_shipping_cost = _decimal(body["merchant_shipping_cost"])


def _shipment_of(request: web.Request, order: Order) -> Shipment:
    shipment = order.shipment(int_path(request, "shipment_id"))
    if shipment is None:
        raise ApiError(404)
    return shipment


@routes.get(PREFIX)
async def list_shipments(request: web.Request) -> web.Response:
    order = order_of(request)
    return v2_list([shipment_json(order, s) for s in paginate(request, order.shipments)])


@routes.get(PREFIX + "/count")
async def count_shipments(request: web.Request) -> web.Response:
    return web.json_response({"count": len(order_of(request).shipments)})


@routes.get(PREFIX + "/{shipment_id}")
async def get_shipment(request: web.Request) -> web.Response:
    order = order_of(request)
    return web.json_response(shipment_json(order, _shipment_of(request, order)))


@routes.post(PREFIX)
async def create_shipment(request: web.Request) -> web.Response:
    store = store_of(request)
    order = order_of(request)
    body = await json_object(request)
    _validate_details(body, CREATE_FIELDS)
    _check_provider_and_carrier(body.get("shipping_provider", ""), body.get("tracking_carrier", ""))
    for name in ("order_address_id", "items"):
        if name not in body:
            raise ApiError(400, f"The required field '{name}' was not supplied.")
    address_id = _address_id(order, body["order_address_id"])
    items = _validate_items(order, address_id, body["items"])
    sandbox = sandbox_of(request)
    now = sandbox.now()
    shipment = Shipment(
        id=store.next_shipment_id,
        order_id=order.id,
        order_address_id=address_id,
        date_created=now,
        items=items,
    )
    store.next_shipment_id += 1
    _apply_details(shipment, body)
    order.shipments.append(shipment)
    for item in items:
        line = order.line(item.order_product_id)
        assert line is not None
        line.quantity_shipped += item.quantity
    previous = order.status_id
    # Shipped once every physical unit has shipped, Partially Shipped before (reference §5.2).
    done = all(
        ln.remaining <= ln.quantity_refunded
        for ln in order.lines
        if ln.type == "physical" and not ln.order_pickup_method_id
    )
    order.status_id = STATUS_SHIPPED if done else STATUS_PARTIALLY_SHIPPED
    if done:
        order.date_shipped = now
    order.date_modified = now
    sandbox.emit_later(
        store.hash, "store/shipment/created", {"type": "shipment", "id": shipment.id, "orderId": order.id}
    )
    if order.status_id != previous:
        sandbox.spawn(
            webhooks.deliver_status_updated(sandbox, store.hash, order.id, previous, order.status_id)
        )
    return web.json_response(shipment_json(order, shipment), status=201)


@routes.put(PREFIX + "/{shipment_id}")
async def update_shipment(request: web.Request) -> web.Response:
    order = order_of(request)
    shipment = _shipment_of(request, order)
    body = await json_object(request)
    _validate_details(body, EDITABLE_FIELDS)
    _check_provider_and_carrier(
        body.get("shipping_provider", shipment.shipping_provider),
        body.get("tracking_carrier", shipment.tracking_carrier),
    )
    if "order_address_id" in body:
        shipment.order_address_id = _address_id(order, body["order_address_id"])
    _apply_details(shipment, body)
    return web.json_response(shipment_json(order, shipment))


def _remove(order: Order, shipment: Shipment) -> None:
    # The units become shippable again; the order keeps its status (reference §5.2).
    for item in shipment.items:
        line = order.line(item.order_product_id)
        if line is not None:
            line.quantity_shipped = max(0, line.quantity_shipped - item.quantity)
    order.shipments.remove(shipment)


@routes.delete(PREFIX + "/{shipment_id}")
async def delete_shipment(request: web.Request) -> web.Response:
    order = order_of(request)
    _remove(order, _shipment_of(request, order))
    return web.Response(status=204)


@routes.delete(PREFIX)
async def delete_shipments(request: web.Request) -> web.Response:
    order = order_of(request)
    for shipment in list(order.shipments):
        _remove(order, shipment)
    return web.Response(status=204)
