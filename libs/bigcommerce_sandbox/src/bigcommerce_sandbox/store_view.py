"""The store's order view: what a merchant sees in the control panel, plus the app's requests.

The app changes orders through the API; the merchant's own actions (cancel, ship by hand, edit)
are the order page's forms (`merchant_view`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection
from decimal import Decimal
from html import escape

from aiohttp import web

from bigcommerce_sandbox.clock import to_datetime
from bigcommerce_sandbox.html import chosen_store, not_found, page, safe_href, store_picker, store_query, when
from bigcommerce_sandbox.merchant_view import actions_html
from bigcommerce_sandbox.middlewares import SANDBOX_KEY
from bigcommerce_sandbox.models import (
    ORDER_STATUSES,
    Address,
    Order,
    RequestRecord,
    Shipment,
    ShippingAddress,
    Store,
)
from bigcommerce_sandbox.sandbox import Sandbox
from bigcommerce_sandbox.serialize import tracking_link_for

routes = web.RouteTableDef()

ORDERS_PATH = "/manage/orders"
PAGE_SIZE = 50
NUMBER = ' class="number"'
_ORDER_REQUEST = re.compile(r"^/stores/[^/]+/v2/orders/(?P<id>\d+)(?P<rest>/.*)?$")
_STATUS_CLASSES = {
    2: "shipped",
    3: "partially-shipped",
    9: "awaiting-shipment",
    10: "completed",
    11: "awaiting-fulfillment",
}


def status_badge(status_id: int) -> str:
    """The order status as text in a coloured badge (the colour only repeats the text)."""
    name = ORDER_STATUSES.get(status_id, (f"Status {status_id}", ""))[0]
    kind = _STATUS_CLASSES.get(status_id, "other")
    return f'<span class="status status-{kind}">{escape(name)}</span>'


def table_head(*columns: str, numeric: Collection[str] = ()) -> str:
    """A `<thead>` of column headers; the `numeric` ones right-aligned like their cells."""
    cells = "".join(f'<th scope="col"{NUMBER if label in numeric else ""}>{label}</th>' for label in columns)
    return f"<thead><tr>{cells}</tr></thead>"


def money(order: Order, amount: Decimal) -> str:
    return f"{escape(order.currency_code)} {amount:.2f}"


def requests_by_order(sandbox: Sandbox, store: Store) -> dict[int, list[RequestRecord]]:
    """The app's API requests about each order, oldest first (the request log of this run only)."""
    found: dict[int, list[RequestRecord]] = defaultdict(list)
    for record in sandbox.requests(store.hash):
        match = _ORDER_REQUEST.match(record.path)
        if match is not None:
            found[int(match["id"])].append(record)
    return found


def tracking_links(shipments: list[Shipment]) -> str:
    """Each shipment's tracking number, linked to its tracking page when it has an http(s) one."""
    parts = []
    for shipment in shipments:
        number = escape(shipment.tracking_number or "no tracking number")
        link = shipment.tracking_link or tracking_link_for(
            shipment.shipping_provider, shipment.tracking_carrier, shipment.tracking_number
        )
        href = safe_href(link)
        parts.append(f'<a href="{escape(href)}" rel="noreferrer">{number}</a>' if href else number)
    return "<br>".join(parts) or '<span class="muted">none</span>'


def _page_number(request: web.Request) -> int:
    raw = request.query.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 and int(raw) > 0 else 1


def _order_row(store: Store, order: Order, requests: list[RequestRecord]) -> str:
    physical = [line for line in order.lines if line.type == "physical"]
    units = sum(line.quantity for line in physical)
    shipped = sum(line.quantity_shipped for line in physical)
    billing = order.billing_address
    last = (
        f"{len(requests)}, last at {when(to_datetime(requests[-1].at), '%H:%M:%S')}"
        if requests
        else '<span class="muted">none</span>'
    )
    return (
        f'<tr><th scope="row"><a href="{ORDERS_PATH}/{order.id}?{store_query(store.hash)}">'
        f"#{order.id}</a></th>"
        f"<td>{when(order.date_created, '%d %b %Y %H:%M')}</td>"
        f'<td class="text">{escape(billing.first_name)} {escape(billing.last_name)}</td>'
        f"<td>{status_badge(order.status_id)}</td>"
        f'<td class="number">{shipped} of {units}</td>'
        f'<td class="tracking">{tracking_links(order.shipments)}</td>'
        f'<td class="number">{money(order, order.total_inc_tax)}</td>'
        f"<td>{last}</td></tr>"
    )


@routes.get(ORDERS_PATH)
async def order_list(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    if not sandbox.stores:
        return page("Orders", "<p>The sandbox has no stores yet.</p>", current="orders")
    store = chosen_store(sandbox, request)
    orders = sorted(store.orders.values(), key=lambda o: o.id, reverse=True)
    pages = max(1, -(-len(orders) // PAGE_SIZE))
    number = min(_page_number(request), pages)
    shown = orders[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    activity = requests_by_order(sandbox, store)
    rows = "".join(_order_row(store, order, activity.get(order.id, [])) for order in shown)
    shipped, total = "Physical items shipped", "Total"
    head = table_head(
        "Order",
        "Created",
        "Customer",
        "Status",
        shipped,
        "Tracking",
        total,
        "App requests",
        numeric={shipped, total},
    )
    table = (
        f"<table><caption>Orders of {escape(store.name)}, newest first "
        f"(page {number} of {pages})</caption>{head}"
        f"<tbody>{rows}</tbody></table>"
        if shown
        else "<p>This store has no orders yet.</p>"
    )
    body = (
        store_picker(sandbox, ORDERS_PATH, store)
        + f'<p class="muted">Store <strong>{escape(store.name)}</strong> ({escape(store.hash)}), '
        f"{len(orders)} orders. The app changes orders through the API, and this page shows the result; "
        "an order's page also has the merchant's own actions. App requests are those of this sandbox run; "
        "times are UTC.</p>" + table + _pager(store, number, pages)
    )
    return page("Orders", body, store_hash=store.hash, current="orders")


def _pager(store: Store, number: int, pages: int) -> str:
    if pages == 1:
        return ""
    links = []
    if number > 1:
        links.append(f'<a href="{ORDERS_PATH}?{store_query(store.hash, page=number - 1)}">Newer orders</a>')
    if number < pages:
        links.append(f'<a href="{ORDERS_PATH}?{store_query(store.hash, page=number + 1)}">Older orders</a>')
    return f'<nav aria-label="Pages" class="pager">{"".join(links)}</nav>'


@routes.get(ORDERS_PATH + "/{order_id}")
async def order_detail(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    store = chosen_store(sandbox, request)
    raw_id = request.match_info["order_id"]
    order = store.orders.get(int(raw_id)) if raw_id.isdigit() and len(raw_id) < 12 else None
    if order is None:
        raise not_found("Order not found", f"{store.name} has no order {raw_id!r}.", store_hash=store.hash)
    requests = requests_by_order(sandbox, store).get(order.id, [])
    back = f'<p><a href="{ORDERS_PATH}?{store_query(store.hash)}">All orders of {escape(store.name)}</a></p>'
    body = (
        back
        + _summary(order)
        + _items(store, order)
        + _addresses(order)
        + _shipments(order)
        + actions_html(store, order, request.query.get("message", "")[:300])
        + _app_requests(store, requests)
    )
    return page(f"Order #{order.id}", body, store_hash=store.hash, current="orders")


def _summary(order: Order) -> str:
    billing = order.billing_address
    facts = [
        ("Status", status_badge(order.status_id)),
        ("Created", when(order.date_created)),
        ("Last modified", when(order.date_modified)),
        ("Shipped", when(order.date_shipped)),
        ("Customer", f"{escape(billing.first_name)} {escape(billing.last_name)} {escape(billing.email)}"),
        ("Total", money(order, order.total_inc_tax)),
        ("Customer message", escape(order.customer_message) or '<span class="muted">none</span>'),
    ]
    if order.is_deleted:
        facts.insert(1, ("Archived", "yes"))
    rows = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in facts)
    return f'<h2>Summary</h2><dl class="facts">{rows}</dl>'


def _items(store: Store, order: Order) -> str:
    numbers = ("Quantity", "Shipped", "Refunded", f"Weight ({escape(store.weight_units)})", "Price inc. tax")
    head = table_head("Product", "SKU", "Kind", "Ships to", *numbers, numeric=numbers)
    rows = "".join(
        f'<tr><th scope="row" class="text">{escape(line.name)}</th><td class="text">{escape(line.sku)}</td>'
        f"<td>{'pickup' if line.order_pickup_method_id else escape(line.type)}</td>"
        f"<td>{_address_label(order, line.order_address_id)}</td>"
        f'<td class="number">{line.quantity}</td><td class="number">{line.quantity_shipped}</td>'
        f'<td class="number">{line.quantity_refunded}</td><td class="number">{line.weight.normalize():f}</td>'
        f'<td class="number">{money(order, line.price_inc_tax)}</td></tr>'
        for line in order.lines
    )
    return f"<h2>Items</h2><table>{head}<tbody>{rows}</tbody></table>"


def _address_label(order: Order, address_id: int) -> str:
    address = order.address(address_id)
    if address is None:
        return '<span class="muted">no shipping</span>'
    return f"#{address.id} {escape(address.address.city)}"


def _postal(address: Address) -> str:
    lines = [
        f"{address.first_name} {address.last_name}",
        address.company,
        address.street_1,
        address.street_2,
        f"{address.city} {address.state} {address.zip}".strip(),
        address.country,
    ]
    return "<address>" + "<br>".join(escape(line) for line in lines if line.strip()) + "</address>"


def _addresses(order: Order) -> str:
    if not order.addresses:
        return '<h2>Shipping addresses</h2><p class="muted">None: nothing in this order is shipped.</p>'
    return "<h2>Shipping addresses</h2>" + "".join(_shipping_address(a) for a in order.addresses)


def _shipping_address(shipping: ShippingAddress) -> str:
    return (
        f"<h3>Address #{shipping.id}</h3>{_postal(shipping.address)}"
        f"<p>Shipping method: {escape(shipping.shipping_method)}</p>"
    )


def _shipments(order: Order) -> str:
    if not order.shipments:
        return '<h2>Shipments</h2><p class="muted">No shipments yet.</p>'
    head = table_head("Shipment", "Created", "Address", "Items", "Provider", "Tracking")
    rows = "".join(
        f'<tr><th scope="row">#{s.id}</th><td>{when(s.date_created)}</td>'
        f"<td>{_address_label(order, s.order_address_id)}</td>"
        f'<td class="text">{_shipped_items(order, s)}</td>'
        f"<td>{escape(s.shipping_provider or s.tracking_carrier) or '—'}</td>"
        f'<td class="tracking">{tracking_links([s])}</td></tr>'
        for s in order.shipments
    )
    return f"<h2>Shipments</h2><table>{head}<tbody>{rows}</tbody></table>"


def _shipped_items(order: Order, shipment: Shipment) -> str:
    names = []
    for item in shipment.items:
        line = order.line(item.order_product_id)
        name = line.name if line is not None else f"line {item.order_product_id}"
        names.append(f"{escape(name)} &times; {item.quantity}")
    return "<br>".join(names)


def _app_requests(store: Store, requests: list[RequestRecord]) -> str:
    title = "<h2>App requests about this order</h2>"
    if not requests:
        return title + '<p class="muted">None since the sandbox started.</p>'
    prefix = f"/stores/{store.hash}/v2"
    head = table_head("Time", "Request", "Answer")
    rows = "".join(
        f"<tr><td>{when(to_datetime(r.at))}</td>"
        f'<td class="text"><code>{escape(r.method)} {escape(r.path.removeprefix(prefix))}</code></td>'
        f"<td>{r.status if r.status is not None else 'connection dropped'}</td></tr>"
        for r in requests
    )
    return f"{title}<table>{head}<tbody>{rows}</tbody></table>"
