"""The merchant's order actions on the store's order page: cancel, refund, ship by hand, edit.

Forms posting to `/manage/orders/{id}/actions` that do what `merchant.Merchant` does, so the demo
can change an order after its download and watch the connector announce it (OrderChanged).
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from urllib.parse import urlencode

from aiohttp import web

from bigcommerce_sandbox.errors import SandboxError
from bigcommerce_sandbox.html import chosen_store, not_found
from bigcommerce_sandbox.merchant import Merchant
from bigcommerce_sandbox.middlewares import SANDBOX_KEY
from bigcommerce_sandbox.models import Order, Store

routes = web.RouteTableDef()

ACTIONS_PATH = "/manage/orders/{order_id}/actions"
# one click each; the labels name what BigCommerce's control panel calls them
BUTTONS = {
    "cancel": "Cancel order",
    "decline": "Decline order",
    "refund": "Refund order",
    "ship": "Ship items by hand",
    "touch": "Add a staff note",
}
ADDRESS_FIELDS = {"street_1": "Street", "city": "City", "zip": "Postcode"}
MAX_TEXT = 255
MAX_QUANTITY = 100_000


def actions_html(store: Store, order: Order, message: str = "") -> str:
    """The order page's "Merchant actions" section."""
    action = escape(ACTIONS_PATH.format(order_id=order.id))
    hidden = f'<input type="hidden" name="store" value="{escape(store.hash)}">'
    notice = f'<p class="notice" role="status">{escape(message)}</p>' if message else ""
    buttons = "".join(
        f'<button type="submit" name="action" value="{name}" class="secondary">{label}</button> '
        for name, label in BUTTONS.items()
    )
    lines = "".join(
        f'<option value="{line.id}">{escape(_short(line.name))} (ordered {line.quantity})</option>'
        for line in order.lines
    )
    addresses = "".join(
        f'<option value="{a.id}">#{a.id} {escape(_short(a.address.city))}, {escape(_short(a.shipping_method))}</option>'
        for a in order.addresses
    )
    quantity_form = (
        f'<form method="post" action="{action}">{hidden}'
        f'<label>Line <select name="line">{lines}</select></label> '
        f'<label>New quantity <input type="number" name="quantity" min="1" max="{MAX_QUANTITY}" required></label> '
        '<button type="submit" name="action" value="quantity" class="secondary">Change quantity</button></form>'
        if order.lines
        else ""
    )
    fields = "".join(
        f'<label>{label} <input name="{name}" maxlength="{MAX_TEXT}"></label> '
        for name, label in ADDRESS_FIELDS.items()
    )
    address_form = (
        f'<form method="post" action="{action}">{hidden}'
        f'<label>Address <select name="address">{addresses}</select></label> {fields}'
        f'<label>Shipping method <input name="shipping_method" maxlength="{MAX_TEXT}"></label> '
        '<button type="submit" name="action" value="address" class="secondary">Change address</button></form>'
        if order.addresses
        else ""
    )
    return (
        '<section class="merchant-actions"><h2>Merchant actions</h2><p class="muted">What a merchant does in the control panel. Each moves '
        "the order's last-modified date and sends the store's webhooks; fields left empty stay as they are.</p>"
        + notice
        + f'<form method="post" action="{action}">{hidden}{buttons}</form>'
        + quantity_form
        + address_form
        + "</section>"
    )


def _short(text: str, limit: int = 40) -> str:
    # an option cannot wrap: a long product name would stretch the page
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(value: object) -> str | None:
    """A form field as text, None when empty; refused when too long or holding control characters."""
    text = str(value or "").strip()
    if not text:
        return None
    if len(text) > MAX_TEXT or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise web.HTTPBadRequest(text="A field is too long or holds control characters.")
    return text


def _number(value: object, maximum: int) -> int:
    raw = str(value or "")
    if not raw.isdigit() or len(raw) > 12 or not 0 < int(raw) <= maximum:
        raise web.HTTPBadRequest(text="Not a number in range.")
    return int(raw)


async def _act(merchant: Merchant, order: Order, action: str, form: Mapping[str, object]) -> str:
    if action == "cancel":
        await merchant.cancel(order.id)
        return "The order was cancelled."
    if action == "decline":
        await merchant.decline(order.id)
        return "The order was declined."
    if action == "refund":
        await merchant.refund(order.id)
        return "The order was refunded."
    if action == "ship":
        await merchant.ship_by_hand(order.id, tracking_number="")
        return "Every item left was shipped by hand: the order is Shipped."
    if action == "touch":
        await merchant.touch(order.id, staff_notes="Rang the customer.")
        return "A staff note was added: only the last-modified date changed for the app."
    if action == "quantity":
        line_id = _number(form.get("line"), 2**62)
        await merchant.edit_quantity(order.id, line_id, _number(form.get("quantity"), MAX_QUANTITY))
        return f"The quantity of line {line_id} was changed."
    if action == "address":
        address_id = _number(form.get("address"), 2**62)
        fields = {name: text for name in ADDRESS_FIELDS if (text := _text(form.get(name))) is not None}
        method = _text(form.get("shipping_method"))
        await merchant.edit_address(order.id, address_id, shipping_method=method, **fields)
        return f"Address #{address_id} was changed."
    raise web.HTTPBadRequest(text="Unknown action.")


@routes.post(ACTIONS_PATH)
async def act(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    form = dict(await request.post())
    store = chosen_store(sandbox, request, str(form.get("store", "")))
    raw_id = request.match_info["order_id"]
    order = store.orders.get(int(raw_id)) if raw_id.isdigit() and len(raw_id) < 12 else None
    if order is None:
        raise not_found("Order not found", f"{store.name} has no order {raw_id!r}.", store_hash=store.hash)
    try:
        message = await _act(Merchant(sandbox, store.hash), order, str(form.get("action", "")), form)
    except SandboxError as refused:
        message = f"Not done: {refused}"
    query = urlencode({"store": store.hash, "message": message})
    raise web.HTTPSeeOther(f"/manage/orders/{order.id}?{query}")
