"""Order reads: pagination to the 204 end, date filters in both formats, lines and addresses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import pytest
from aiohttp import web
from common.bigcommerce import MAX_PAGE_SIZE, format_filter_date
from common.bigcommerce.client import StoreApi
from common.bigcommerce.models import Order

from .conftest import STORE, TOKEN, MakeClient, RequestLog, Serve

BASE = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def make_order(order_id: int, created: datetime, status_id: int = 9) -> dict[str, Any]:
    return {
        "id": order_id,
        "status_id": status_id,
        "status": "Awaiting Shipment",
        "date_created": format_datetime(created),
        "date_modified": format_datetime(created + timedelta(minutes=5)),
        "date_shipped": "",
        "order_is_digital": False,
        "is_deleted": False,
        "currency_code": "GBP",
        "subtotal_inc_tax": "10.0000",
        "shipping_cost_inc_tax": "2.5000",
        "total_inc_tax": "12.5000",
        "customer_message": "",
        "billing_address": {"first_name": "Ann", "country_iso2": "GB", "form_fields": []},
        "items_total": 1,
        "items_shipped": 0,
        "shipping_address_count": 1,
        "shipping_addresses": {"url": "x", "resource": f"/orders/{order_id}/shipping_addresses"},
        "consignments": {"url": "x", "resource": f"/orders/{order_id}/consignments"},
        "custom_status": "Awaiting Shipment",
    }


def parse_filter(raw: str) -> datetime:
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return parsedate_to_datetime(raw)


def orders_app(log: RequestLog, orders: list[dict[str, Any]], *, empty: str = "204") -> web.Application:
    """GET /v2/orders like BigCommerce: filters, 1-based pages, 204 past the last row."""

    async def list_orders(request: web.Request) -> web.Response:
        await log.note(request)
        query = request.query
        limit = int(query.get("limit", "50"))
        if limit > MAX_PAGE_SIZE:
            return web.json_response([{"status": 413, "message": "limit too large"}], status=413)
        since = parse_filter(query["min_date_created"])
        matching = [
            o
            for o in orders
            if o["status_id"] == int(query["status_id"]) and parsedate_to_datetime(o["date_created"]) >= since
        ]
        page = int(query.get("page", "1"))
        chunk = matching[(page - 1) * limit : page * limit]
        if not chunk:
            return web.Response(status=204) if empty == "204" else web.json_response([])
        return web.json_response(chunk)

    app = web.Application()
    app.router.add_get(f"/stores/{STORE}/v2/orders", list_orders)
    return app


async def parsed_orders(api: StoreApi, **filters: Any) -> list[Order]:
    """Every listed order, each row parsed (a row that does not parse fails the test)."""
    rows = [row async for row in api.iter_listed_orders(**filters)]
    assert all(row.order is not None for row in rows), [row.error for row in rows]
    return [row.order for row in rows if row.order is not None]


async def test_pagination_reads_every_order_across_pages_and_stops_on_204(
    serve: Serve, make_client: MakeClient, request_log: RequestLog
) -> None:
    orders = [make_order(i, BASE + timedelta(seconds=i)) for i in range(1, 501)]  # 2 full pages
    url = await serve(orders_app(request_log, orders))
    api = make_client(url).store(STORE, TOKEN)

    got = [o.id for o in await parsed_orders(api, status_id=9, min_date_created=BASE)]

    assert got == list(range(1, 501))
    pages = [s.query["page"] for s in request_log.seen]
    assert pages == ["1", "2", "3"]  # the third page is the 204 that ends it
    assert {s.query["limit"] for s in request_log.seen} == {"250"}
    assert {s.query["sort"] for s in request_log.seen} == {"id:asc"}


async def test_pagination_stops_on_a_short_page_without_asking_for_more(
    serve: Serve, make_client: MakeClient, request_log: RequestLog
) -> None:
    orders = [make_order(i, BASE) for i in range(1, 301)]
    url = await serve(orders_app(request_log, orders))
    api = make_client(url).store(STORE, TOKEN)

    got = await parsed_orders(api, status_id=9, min_date_created=BASE)

    assert len(got) == 300
    assert [s.query["page"] for s in request_log.seen] == ["1", "2"]


async def test_no_orders_at_all_is_a_204_on_the_first_page(
    serve: Serve, make_client: MakeClient, request_log: RequestLog
) -> None:
    url = await serve(orders_app(request_log, []))
    api = make_client(url).store(STORE, TOKEN)

    assert await parsed_orders(api, status_id=9, min_date_created=BASE) == []
    assert len(request_log.seen) == 1


async def test_listed_orders_yield_a_malformed_row_and_carry_on_across_pages(
    serve: Serve, make_client: MakeClient, request_log: RequestLog
) -> None:
    orders = [make_order(i, BASE + timedelta(seconds=i)) for i in range(1, 301)]
    orders[4]["is_deleted"] = "sometimes"  # row of order 5: does not parse
    url = await serve(orders_app(request_log, orders))
    api = make_client(url).store(STORE, TOKEN)

    rows = [r async for r in api.iter_listed_orders(status_id=9, min_date_created=BASE)]

    assert [r.order_id for r in rows] == list(range(1, 301))
    [bad] = [r for r in rows if r.order is None]
    assert bad.order_id == 5
    assert bad.error is not None
    assert "is_deleted" in bad.error
    assert [s.query["page"] for s in request_log.seen] == ["1", "2"]


async def test_a_server_that_ignores_page_does_not_loop_forever(
    serve: Serve, make_client: MakeClient, request_log: RequestLog
) -> None:
    orders = [make_order(i, BASE) for i in range(1, 251)]  # exactly one full page

    async def same_page(request: web.Request) -> web.Response:
        await request_log.note(request)
        return web.json_response(orders)

    app = web.Application()
    app.router.add_get(f"/stores/{STORE}/v2/orders", same_page)
    api = make_client(await serve(app)).store(STORE, TOKEN)

    got = [o.id for o in await parsed_orders(api, status_id=9, min_date_created=BASE)]

    assert got == list(range(1, 251))
    assert [s.query["page"] for s in request_log.seen] == ["1", "2"]


async def test_orders_are_parsed_into_typed_models(
    serve: Serve, make_client: MakeClient, request_log: RequestLog
) -> None:
    url = await serve(orders_app(request_log, [make_order(7, BASE)]))
    api = make_client(url).store(STORE, TOKEN)

    [order] = await parsed_orders(api, status_id=9, min_date_created=BASE)

    assert order.date_created == BASE
    assert order.date_created.tzinfo is not None
    assert order.date_shipped is None
    assert order.total_inc_tax == Decimal("12.5")
    assert order.billing_address.country_iso2 == "GB"
    assert order.consignments is None  # a resource link, not expanded


@pytest.mark.parametrize(
    ("style", "sent"),
    [
        ("iso", "2026-11-20T10:00:00+00:00"),
        ("rfc2822", "Fri, 20 Nov 2026 10:00:00 +0000"),
    ],
)
async def test_date_filter_keeps_its_plus_sign_in_both_formats(
    serve: Serve, make_client: MakeClient, request_log: RequestLog, style: str, sent: str
) -> None:
    before, after = make_order(1, BASE - timedelta(seconds=1)), make_order(2, BASE)
    url = await serve(orders_app(request_log, [before, after]))
    api = make_client(url).store(STORE, TOKEN)
    # Same instant given at +01:00: the filter is sent in UTC with an explicit offset.
    since = BASE.astimezone(timezone(timedelta(hours=1)))

    got = [o.id for o in await parsed_orders(api, status_id=9, min_date_created=since, date_style=style)]

    assert got == [2]
    assert request_log.seen[0].query["min_date_created"] == sent


def test_naive_dates_are_refused_before_any_request() -> None:
    with pytest.raises(ValueError, match="naive"):
        format_filter_date(datetime(2026, 11, 20, 10, 0))


async def test_listing_refuses_naive_dates_and_oversized_pages(
    serve: Serve, make_client: MakeClient, request_log: RequestLog
) -> None:
    url = await serve(orders_app(request_log, []))
    api = make_client(url).store(STORE, TOKEN)

    with pytest.raises(ValueError, match="naive"):
        api.iter_listed_orders(status_id=9, min_date_created=datetime(2026, 11, 20))
    with pytest.raises(ValueError, match="limit"):
        api.iter_listed_orders(status_id=9, min_date_created=BASE, limit=251)
    assert request_log.seen == []


async def test_consignments_are_requested_and_parsed_when_asked(
    serve: Serve, make_client: MakeClient, request_log: RequestLog
) -> None:
    order = make_order(3, BASE)
    order["consignments"] = {
        "pickups": [],
        "shipping": [
            {
                "id": 31,
                "first_name": "Ann",
                "zip": "SW1A 1AA",
                "shipping_method": "Flat Rate",
                "line_items": [{"id": 5, "product_id": 77, "quantity": 2, "name": "Mug"}],
            }
        ],
        "downloads": [],
    }
    url = await serve(orders_app(request_log, [order]))
    api = make_client(url).store(STORE, TOKEN)

    [got] = await parsed_orders(api, status_id=9, min_date_created=BASE, include_consignments=True)

    query = request_log.seen[0].query
    assert query["include"] == "consignments.line_items"
    assert query["consignment_structure"] == "object"
    assert got.consignments is not None
    [shipping] = got.consignments.shipping
    assert (shipping.id, shipping.zip, shipping.line_items[0]["quantity"]) == (31, "SW1A 1AA", 2)
    assert shipping.address().shipping_method == "Flat Rate"


def lines_app(log: RequestLog, order_id: int, lines: int) -> web.Application:
    async def products(request: web.Request) -> web.Response:
        await log.note(request)
        page, limit = int(request.query["page"]), int(request.query["limit"])
        rows = [
            {
                "id": i,
                "order_id": order_id,
                "product_id": 1000 + i,
                "order_address_id": 9,
                "name": f"Line {i}",
                "sku": f"SKU{i}",
                "type": "physical",
                "quantity": 1,
                "quantity_shipped": 0,
                "quantity_refunded": 0,
                "price_inc_tax": "3.0000",
                "weight": 1.5 if i % 2 else "2.2500",
            }
            for i in range(1, lines + 1)
        ][(page - 1) * limit : page * limit]
        return web.json_response(rows) if rows else web.Response(status=204)

    async def addresses(request: web.Request) -> web.Response:
        await log.note(request)
        return web.json_response(
            [{"id": 9, "order_id": order_id, "zip": "AB1 2CD", "shipping_method": "Tracked 48"}]
        )

    async def shipments(request: web.Request) -> web.Response:
        await log.note(request)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_get(f"/stores/{STORE}/v2/orders/{order_id}/products", products)
    app.router.add_get(f"/stores/{STORE}/v2/orders/{order_id}/shipping_addresses", addresses)
    app.router.add_get(f"/stores/{STORE}/v2/orders/{order_id}/shipments", shipments)
    return app


async def test_order_lines_addresses_and_no_shipments(
    serve: Serve, make_client: MakeClient, request_log: RequestLog
) -> None:
    url = await serve(lines_app(request_log, 101, lines=260))
    api = make_client(url).store(STORE, TOKEN)

    lines = await api.list_order_products(101)
    addresses = await api.list_shipping_addresses(101)
    shipments = await api.list_shipments(101)

    assert [line.id for line in lines] == list(range(1, 261))
    assert lines[0].weight == Decimal("1.5")
    assert lines[1].weight == Decimal("2.25")
    assert lines[0].variant_id is None
    assert lines[0].order_pickup_method_id == 0
    assert [(a.id, a.zip, a.shipping_method) for a in addresses] == [(9, "AB1 2CD", "Tracked 48")]
    assert shipments == []
    product_pages = [s.query["page"] for s in request_log.seen if s.path.endswith("/products")]
    assert product_pages == ["1", "2"]
