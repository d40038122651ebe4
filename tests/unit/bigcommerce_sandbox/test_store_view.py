"""The store's order view: orders with status, items, shipments and tracking links."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import aiohttp
from bigcommerce_sandbox import Address, AddressSpec, LineSpec, Order, Sandbox, Store

from .conftest import Api


class Links(HTMLParser):
    """Every `<a>` of a page as (href, text), and every header cell's text."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.headers: list[str] = []
        self._href: str | None = None
        self._text: list[str] = []
        self._in_th = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = []
        if tag == "th":
            self._in_th = True
            self.headers.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None
        if tag == "th":
            self._in_th = False

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)
        if self._in_th:
            self.headers[-1] += data


def parse(page: str) -> Links:
    parser = Links()
    parser.feed(page)
    return parser


async def get(http: aiohttp.ClientSession, url: str, **params: str) -> tuple[int, str, Any]:
    async with http.get(url, params=params) as response:
        return response.status, await response.text(), response.headers


def two_address_order(sandbox: Sandbox, store: Store) -> Order:
    return sandbox.add_order(
        store.hash,
        [
            LineSpec(name="Candle", quantity=2, address=0),
            LineSpec(name="Soap", address=1),
            LineSpec(name="E-book", type="digital"),
        ],
        addresses=[AddressSpec(), AddressSpec(shipping_method="Royal Mail Tracked 24")],
    )


async def ship(api: Api, order: Order, address: int, number: str, **extra: Any) -> None:
    lines = [ln for ln in order.lines if ln.order_address_id == order.addresses[address].id]
    body = {
        "order_address_id": order.addresses[address].id,
        "shipping_provider": "royalmail",
        "tracking_number": number,
        "items": [{"order_product_id": ln.id, "quantity": ln.quantity} for ln in lines],
        **extra,
    }
    async with api.request("POST", f"/v2/orders/{order.id}/shipments", json=body) as resp:
        assert resp.status == 201, await resp.text()


async def test_marketplace_links_to_the_store_view(
    sandbox: Sandbox, store: Store, http: aiohttp.ClientSession
) -> None:
    _, page, _ = await get(http, sandbox.marketplace_url, store=store.hash)
    assert ("/manage/orders?store=abc123", "See the orders of Zoë's Shop") in parse(page).links


async def test_orders_are_listed_newest_first_with_status_and_totals(
    sandbox: Sandbox, store: Store, http: aiohttp.ClientSession
) -> None:
    older = sandbox.add_order(
        store.hash, [LineSpec(price_inc_tax="10.00")], addresses=[AddressSpec(cost_inc_tax="2.50")]
    )
    newer = sandbox.add_order(store.hash, [LineSpec(quantity=3)], status_id=11)
    status, page, headers = await get(http, f"{sandbox.base_url}/manage/orders", store=store.hash)
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    links = [href for href, _ in parse(page).links if href.startswith("/manage/orders/")]
    assert links == [f"/manage/orders/{newer.id}?store=abc123", f"/manage/orders/{older.id}?store=abc123"]
    assert "Awaiting Shipment" in page
    assert "Awaiting Fulfillment" in page
    assert "GBP 12.50" in page
    assert "0 of 3" in page


async def test_a_completed_order_shows_completed_with_its_tracking_link(
    sandbox: Sandbox, store: Store, api: Api, http: aiohttp.ClientSession
) -> None:
    order = two_address_order(sandbox, store)
    await ship(api, order, 0, "TT111111116GB")
    await ship(api, order, 1, "TT222222224GB")
    async with api.request("PUT", f"/v2/orders/{order.id}", json={"status_id": 10}) as resp:
        assert resp.status == 200
    _, page, _ = await get(http, f"{sandbox.base_url}/manage/orders", store=store.hash)
    assert '<span class="status status-completed">Completed</span>' in page
    assert "3 of 3" in page
    tracking = dict((text, href) for href, text in parse(page).links if text.startswith("TT"))
    assert tracking == {
        "TT111111116GB": "https://www.royalmail.com/track-your-item#/tracking-results/TT111111116GB",
        "TT222222224GB": "https://www.royalmail.com/track-your-item#/tracking-results/TT222222224GB",
    }


async def test_the_order_page_shows_items_addresses_shipments_and_the_apps_requests(
    sandbox: Sandbox, store: Store, api: Api, http: aiohttp.ClientSession
) -> None:
    order = two_address_order(sandbox, store)
    await ship(api, order, 0, "TT111111116GB")
    status, page, _ = await get(http, f"{sandbox.base_url}/manage/orders/{order.id}", store=store.hash)
    assert status == 200
    assert f"<h1>Order #{order.id}</h1>" in page
    assert "Partially Shipped" in page
    for text in ("Candle", "Soap", "E-book", "Royal Mail Tracked 24", "1 Test Street", "Candle &times; 2"):
        assert text in page
    headers = parse(page).headers
    assert {"Product", "Quantity", "Shipped", "Weight (Grams)", "Tracking", "Request"} <= set(headers)
    assert f"POST /orders/{order.id}/shipments" in page  # the app's request, as the sandbox served it
    assert "<td>201</td>" in page


async def test_text_from_orders_and_apps_is_escaped_and_only_http_links_are_links(
    sandbox: Sandbox, store: Store, api: Api, http: aiohttp.ClientSession
) -> None:
    hostile = Address(
        first_name="<script>alert(1)</script>", last_name='"><img src=x>', street_1="1 St", city="X", zip="1"
    )
    order = sandbox.add_order(
        store.hash, [LineSpec(name="<b>Mug</b>")], billing=hostile, customer_message="<i>hi</i>"
    )
    await ship(api, order, 0, "TT1", shipping_provider="", tracking_link="javascript:alert(1)")
    for url in (f"{sandbox.base_url}/manage/orders", f"{sandbox.base_url}/manage/orders/{order.id}"):
        _, page, headers = await get(http, url, store=store.hash)
        assert "<script>" not in page
        assert "<img" not in page
        assert "<b>Mug" not in page
        assert "javascript:" not in page
        assert "&lt;script&gt;" in page
        assert "script-src" not in headers["Content-Security-Policy"]  # default-src 'none': no scripts
    assert ("", "TT1") not in parse(page).links


async def test_unknown_orders_and_stores_get_a_404_page(
    sandbox: Sandbox, store: Store, http: aiohttp.ClientSession
) -> None:
    base = f"{sandbox.base_url}/manage/orders"
    for url, params in (
        (f"{base}/999", {"store": store.hash}),
        (f"{base}/not-a-number", {"store": store.hash}),
        (f"{base}/1{'0' * 40}", {"store": store.hash}),
        (base, {"store": "nope<b>"}),
    ):
        status, page, headers = await get(http, url, **params)
        assert status == 404, url
        assert headers["Content-Type"].startswith("text/html")
        assert "not found" in page
        assert "<b>" not in page


async def test_long_stores_are_paged_and_a_bad_page_number_shows_the_first(
    sandbox: Sandbox, store: Store, http: aiohttp.ClientSession
) -> None:
    orders = [sandbox.add_order(store.hash) for _ in range(60)]
    base = f"{sandbox.base_url}/manage/orders"
    _, first, _ = await get(http, base, store=store.hash)
    _, second, _ = await get(http, base, store=store.hash, page="2")
    assert "(page 1 of 2)" in first
    assert ("/manage/orders?store=abc123&amp;page=2", "Older orders") in [
        (href.replace("&", "&amp;"), text) for href, text in parse(first).links
    ]
    assert f"#{orders[0].id}<" in second
    assert f"#{orders[0].id}<" not in first
    for bad in ("0", "-1", "x", "9" * 30):
        _, page, _ = await get(http, base, store=store.hash, page=bad)
        assert "(page 1 of 2)" in page
    _, last, _ = await get(http, base, store=store.hash, page="99")
    assert "(page 2 of 2)" in last


async def test_the_view_is_read_only_and_has_its_own_style_sheet(
    sandbox: Sandbox, store: Store, http: aiohttp.ClientSession
) -> None:
    order = sandbox.add_order(store.hash)
    for path in ("/manage/orders", f"/manage/orders/{order.id}"):
        async with http.post(f"{sandbox.base_url}{path}", params={"store": store.hash}) as resp:
            assert resp.status == 405
    status, css, headers = await get(http, f"{sandbox.base_url}/static/sandbox.css")
    assert (status, headers["Content-Type"].split(";")[0]) == (200, "text/css")
    assert ".status-completed" in css
    assert "url(" not in css  # no external assets
    _, page, headers = await get(http, f"{sandbox.base_url}/manage/orders", store=store.hash)
    assert '<html lang="en">' in page
    assert '<link rel="stylesheet" href="/static/sandbox.css">' in page
    assert "style-src 'self'" in headers["Content-Security-Policy"]
    assert '<th scope="col">' in page
