"""v2 orders: list, count, get, status PUT, products, shipping addresses, consignments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from bigcommerce_sandbox import webhooks
from bigcommerce_sandbox.api import (
    api_base,
    int_param,
    int_path,
    json_object,
    order_of,
    paginate,
    sandbox_of,
    store_of,
    v2_list,
)
from bigcommerce_sandbox.errors import ApiError, read_only_field
from bigcommerce_sandbox.formats import parse_filter_date
from bigcommerce_sandbox.models import ORDER_STATUSES, Order
from bigcommerce_sandbox.serialize import (
    consignments_json,
    line_json,
    order_json,
    shipping_address_json,
)

routes = web.RouteTableDef()
PREFIX = "/stores/{store_hash}/v2/orders"

SORT_KEYS: dict[str, Callable[[Order], Any]] = {
    "id": lambda o: o.id,
    "customer_id": lambda o: (o.customer_id, o.id),
    "date_created": lambda o: (o.date_created, o.id),
    "date_modified": lambda o: (o.date_modified, o.id),
    "status_id": lambda o: (o.status_id, o.id),
    "channel_id": lambda o: (o.channel_id, o.id),
    "external_id": lambda o: (o.external_id, o.id),
}

# Fields an order PUT may not write: computed or system-owned values.
READ_ONLY_ORDER_FIELDS = frozenset(
    {
        "id",
        "date_created",
        "date_modified",
        "date_shipped",
        "status",
        "custom_status",
        "items",
        "items_total",
        "items_shipped",
        "order_is_digital",
        "shipping_address_count",
        "store_default_currency_code",
        "consignments",
        "coupons",
        "refunded_amount",
        "subtotal_tax",
        "total_tax",
    }
)


def _date_param(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        return parse_filter_date(raw)
    except ValueError:
        raise ApiError(400, f"The field '{name}' is invalid.") from None


def _decimal_param(request: web.Request, name: str) -> Decimal | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise ApiError(400, f"The field '{name}' is invalid.") from None


_INT_FILTERS: dict[str, Callable[[Order, int], bool]] = {
    "status_id": lambda o, v: o.status_id == v,
    "min_id": lambda o, v: o.id >= v,
    "max_id": lambda o, v: o.id <= v,
    "customer_id": lambda o, v: o.customer_id == v,
    "channel_id": lambda o, v: o.channel_id == v,
}
# Date bounds are inclusive.
_DATE_FILTERS: dict[str, Callable[[Order, datetime], bool]] = {
    "min_date_created": lambda o, v: o.date_created >= v,
    "max_date_created": lambda o, v: o.date_created <= v,
    "min_date_modified": lambda o, v: o.date_modified >= v,
    "max_date_modified": lambda o, v: o.date_modified <= v,
}
_TOTAL_FILTERS: dict[str, Callable[[Order, Decimal], bool]] = {
    "min_total": lambda o, v: o.total_inc_tax >= v,
    "max_total": lambda o, v: o.total_inc_tax <= v,
}

_TEXT_FILTERS: dict[str, Callable[[Order], str]] = {
    "payment_method": lambda o: o.payment_method,
    "cart_id": lambda o: o.cart_id,
    "external_order_id": lambda o: o.external_order_id,
}


def filter_orders(request: web.Request, orders: list[Order]) -> list[Order]:
    """Apply the documented list filters; `is_deleted=true|false` picks archived or live orders.

    Whether archived orders are listed by default is unverified (reference §4.1, §10.5); the
    sandbox takes the stricter reading and lists them, so clients must drop them themselves.
    """
    selected = orders
    if (deleted := request.query.get("is_deleted")) is not None:
        selected = [o for o in orders if o.is_deleted == (deleted.lower() == "true")]
    for name, int_test in _INT_FILTERS.items():
        number = int_param(request, name)
        if number is not None:
            selected = [o for o in selected if int_test(o, number)]
    for name, date_test in _DATE_FILTERS.items():
        when = _date_param(request, name)
        if when is not None:
            selected = [o for o in selected if date_test(o, when)]
    for name, total_test in _TOTAL_FILTERS.items():
        amount = _decimal_param(request, name)
        if amount is not None:
            selected = [o for o in selected if total_test(o, amount)]
    if email := request.query.get("email"):
        selected = [o for o in selected if o.billing_address.email.lower() == email.lower()]
    for name, text_of in _TEXT_FILTERS.items():
        if text := request.query.get(name):
            selected = [o for o in selected if text_of(o) == text]
    return selected


def sort_orders(request: web.Request, orders: list[Order]) -> list[Order]:
    """Sort by `field[:asc|:desc]`; the default is id ascending."""
    raw = request.query.get("sort", "id")
    name, _, direction = raw.partition(":")
    key = SORT_KEYS.get(name)
    if key is None or direction.lower() not in ("", "asc", "desc"):
        raise ApiError(400, "The field 'sort' is invalid.")
    return sorted(orders, key=key, reverse=direction.lower() == "desc")


def _include(request: web.Request) -> frozenset[str]:
    raw = request.query.get("include", "")
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


@routes.get(PREFIX)
async def list_orders(request: web.Request) -> web.Response:
    store = store_of(request)
    orders = sort_orders(request, filter_orders(request, list(store.orders.values())))
    include = _include(request)
    as_object = request.query.get("consignment_structure") == "object"
    base = api_base(request)
    return v2_list(
        [
            order_json(o, store, base, include=include, consignments_as_object=as_object)
            for o in paginate(request, orders)
        ]
    )


@routes.get(PREFIX + "/count")
async def count_orders(request: web.Request) -> web.Response:
    store = store_of(request)
    orders = filter_orders(request, list(store.orders.values()))
    statuses = []
    for sort_order, (status_id, (name, description)) in enumerate(ORDER_STATUSES.items()):
        statuses.append(
            {
                "id": status_id,
                "name": name,
                "system_label": name,
                "custom_label": name,
                "system_description": description,
                "count": sum(1 for o in orders if o.status_id == status_id),
                "sort_order": sort_order,
            }
        )
    return web.json_response({"statuses": statuses, "count": len(orders)})


@routes.get(PREFIX + "/{order_id}")
async def get_order(request: web.Request) -> web.Response:
    store = store_of(request)
    order = order_of(request)
    return web.json_response(
        order_json(
            order,
            store,
            api_base(request),
            include=_include(request),
            consignments_as_object=request.query.get("consignment_structure") == "object",
        )
    )


@routes.put(PREFIX + "/{order_id}")
async def update_order(request: web.Request) -> web.Response:
    """Only `status_id` and `is_deleted` are honoured; other writable fields are ignored."""
    store = store_of(request)
    order = order_of(request)
    body = await json_object(request)
    for name in body:
        if name in READ_ONLY_ORDER_FIELDS:
            raise read_only_field(name)
    if "is_deleted" in body:
        _archive(request, order, body["is_deleted"])
    if "status_id" in body:
        new = body["status_id"]
        if isinstance(new, bool) or not isinstance(new, int) or new not in ORDER_STATUSES:
            raise ApiError(400, "The field 'status_id' is invalid.")
        previous = order.status_id
        order.status_id = new
        sandbox = sandbox_of(request)
        order.date_modified = sandbox.now()
        if new != previous:
            sandbox.spawn(webhooks.deliver_status_updated(sandbox, store.hash, order.id, previous, new))
    return web.json_response(order_json(order, store, api_base(request)))


def _archive(request: web.Request, order: Order, value: Any) -> None:
    """`PUT {"is_deleted": true}` archives the order, as BigCommerce does (reference §5.4)."""
    if not isinstance(value, bool):
        raise ApiError(400, "The field 'is_deleted' is invalid.")
    if value and not order.is_deleted:
        sandbox = sandbox_of(request)
        order.date_modified = sandbox.now()
        archived = {"type": "order", "id": order.id}
        sandbox.emit_later(store_of(request).hash, "store/order/archived", archived)
    order.is_deleted = value


@routes.get(PREFIX + "/{order_id}/products")
async def list_products(request: web.Request) -> web.Response:
    order = order_of(request)
    return v2_list([line_json(order, ln) for ln in paginate(request, order.lines)])


@routes.get(PREFIX + "/{order_id}/products/{product_id}")
async def get_product(request: web.Request) -> web.Response:
    order = order_of(request)
    line = order.line(int_path(request, "product_id"))
    if line is None:
        raise ApiError(404)
    return web.json_response(line_json(order, line))


@routes.get(PREFIX + "/{order_id}/shipping_addresses")
async def list_shipping_addresses(request: web.Request) -> web.Response:
    order = order_of(request)
    base = api_base(request)
    return v2_list([shipping_address_json(order, a, base) for a in paginate(request, order.addresses)])


@routes.get(PREFIX + "/{order_id}/shipping_addresses/{address_id}")
async def get_shipping_address(request: web.Request) -> web.Response:
    order = order_of(request)
    address = order.address(int_path(request, "address_id"))
    if address is None:
        raise ApiError(404)
    return web.json_response(shipping_address_json(order, address, api_base(request)))


@routes.get(PREFIX + "/{order_id}/consignments")
async def get_consignments(request: web.Request) -> web.Response:
    order = order_of(request)
    return web.json_response(consignments_json(order, api_base(request), with_lines=True, as_object=True))
