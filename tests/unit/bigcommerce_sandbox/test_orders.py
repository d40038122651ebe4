"""Contract tests for v2 orders: listing, filters, pagination, count, get and status PUT."""

from __future__ import annotations

import re
from datetime import timedelta

from bigcommerce_sandbox import AddressSpec, LineSpec, Sandbox, Store

from .conftest import START, Api

RFC2822 = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$")


def add_orders(sandbox: Sandbox, store: Store, count: int) -> list[int]:
    return [
        sandbox.add_order(store.hash, created=START - timedelta(hours=count - i)).id for i in range(count)
    ]


async def test_pages_end_with_204_and_an_empty_body(sandbox: Sandbox, store: Store, api: Api) -> None:
    ids = add_orders(sandbox, store, 60)
    async with api.request("GET", "/v2/orders") as first:
        assert first.status == 200
        page1 = await first.json()
    async with api.request("GET", "/v2/orders", params={"page": 2}) as second:
        page2 = await second.json()
    async with api.request("GET", "/v2/orders", params={"page": 3}) as third:
        assert third.status == 204
        assert await third.read() == b""
    assert len(page1) == 50  # the default limit
    assert [o["id"] for o in page1 + page2] == ids  # id ascending by default


async def test_limit_over_250_is_413_and_250_is_allowed(sandbox: Sandbox, store: Store, api: Api) -> None:
    add_orders(sandbox, store, 3)
    async with api.request("GET", "/v2/orders", params={"limit": 251}) as too_big:
        assert too_big.status == 413
        body = await too_big.json()
    async with api.request("GET", "/v2/orders", params={"limit": 250}) as ok:
        assert ok.status == 200
        assert len(await ok.json()) == 3
    assert body[0]["status"] == 413
    assert isinstance(body, list)


async def test_date_filters_accept_rfc2822_and_iso8601_with_offsets(
    sandbox: Sandbox, store: Store, api: Api
) -> None:
    old = sandbox.add_order(store.hash, created=START - timedelta(days=8))
    new = sandbox.add_order(store.hash, created=START - timedelta(hours=1))
    # 10:00 at +02:00 is 08:00 UTC, so only the order of 09:00 UTC is after it.
    for value in ("Fri, 27 Nov 2026 10:00:00 +0200", "2026-11-27T10:00:00.000+02:00"):
        async with api.request("GET", "/v2/orders", params={"min_date_created": value}) as resp:
            assert [o["id"] for o in await resp.json()] == [new.id]
    async with api.request(
        "GET", "/v2/orders", params={"max_date_created": "2026-11-20T00:00:00+00:00"}
    ) as resp:
        assert [o["id"] for o in await resp.json()] == [old.id]


async def test_a_date_without_offset_or_a_timestamp_is_refused(
    sandbox: Sandbox, store: Store, api: Api
) -> None:
    sandbox.add_order(store.hash, created=START - timedelta(hours=2))
    for value in ("2026-11-27T08:30:00", "Fri, 27 Nov 2026 08:30:00 -0000", "1795769400"):
        async with api.request("GET", "/v2/orders", params={"min_date_created": value}) as r:
            assert r.status == 400, value
            assert (await r.json())[0]["message"] == "The field 'min_date_created' is invalid."
    async with api.request("GET", "/v2/orders", params={"min_date_created": "2026-11-27T07:30:00Z"}) as r:
        assert r.status == 200


async def test_an_unencoded_plus_in_the_offset_is_refused(sandbox: Sandbox, store: Store, api: Api) -> None:
    sandbox.add_order(store.hash)
    url = f"{api.base}/v2/orders?min_date_modified=Fri,%2027%20Nov%202026%2010:00:00%20+0000"
    async with api.session.get(url, headers=api.headers) as resp:
        assert resp.status == 400
        assert "min_date_modified" in (await resp.json())[0]["message"]


async def test_filters_and_sort(sandbox: Sandbox, store: Store, api: Api) -> None:
    a = sandbox.add_order(store.hash, status_id=9, created=START - timedelta(hours=3))
    b = sandbox.add_order(store.hash, status_id=11, created=START - timedelta(hours=2))
    c = sandbox.add_order(store.hash, status_id=9, created=START - timedelta(hours=1))
    c.date_modified = START - timedelta(hours=5)
    async with api.request("GET", "/v2/orders", params={"status_id": 9}) as resp:
        assert [o["id"] for o in await resp.json()] == [a.id, c.id]
    async with api.request("GET", "/v2/orders", params={"min_id": b.id, "max_id": c.id}) as resp:
        assert [o["id"] for o in await resp.json()] == [b.id, c.id]
    async with api.request("GET", "/v2/orders", params={"sort": "date_modified:asc"}) as resp:
        assert [o["id"] for o in await resp.json()] == [c.id, a.id, b.id]
    async with api.request("GET", "/v2/orders", params={"sort": "id:desc"}) as resp:
        assert [o["id"] for o in await resp.json()] == [c.id, b.id, a.id]
    async with api.request("GET", "/v2/orders", params={"sort": "colour"}) as resp:
        assert resp.status == 400


async def test_archived_orders_are_listed_unless_filtered_out(
    sandbox: Sandbox, store: Store, api: Api
) -> None:
    live = sandbox.add_order(store.hash)
    archived = sandbox.add_order(store.hash, is_deleted=True)
    async with api.request("GET", "/v2/orders") as resp:
        listed = await resp.json()
        assert [(o["id"], o["is_deleted"]) for o in listed] == [(live.id, False), (archived.id, True)]
    async with api.request("GET", "/v2/orders", params={"is_deleted": "true"}) as resp:
        assert [o["id"] for o in await resp.json()] == [archived.id]
    async with api.request("GET", "/v2/orders", params={"is_deleted": "false"}) as resp:
        assert [o["id"] for o in await resp.json()] == [live.id]


async def test_text_filters(sandbox: Sandbox, store: Store, api: Api) -> None:
    a = sandbox.add_order(store.hash)
    b = sandbox.add_order(store.hash)
    a.cart_id, b.cart_id = "cart-a", "cart-b"
    b.external_order_id, b.payment_method = "ext-9", "PayPal"
    for name, value in (("cart_id", "cart-b"), ("external_order_id", "ext-9"), ("payment_method", "PayPal")):
        async with api.request("GET", "/v2/orders", params={name: value}) as resp:
            listed = await resp.json()
            assert [o["id"] for o in listed] == [b.id], name
            assert listed[0][name] == value
    async with api.request("GET", "/v2/orders/count", params={"cart_id": "cart-a"}) as resp:
        assert (await resp.json())["count"] == 1


async def test_order_shape_dates_money_and_links(sandbox: Sandbox, store: Store, api: Api) -> None:
    order = sandbox.add_order(
        store.hash,
        [LineSpec(quantity=2, price_inc_tax="12.00"), LineSpec(type="digital", price_inc_tax="5")],
    )
    async with api.request("GET", f"/v2/orders/{order.id}") as resp:
        body = await resp.json()
    assert RFC2822.match(body["date_created"])
    assert body["date_created"] == "Fri, 27 Nov 2026 10:00:00 +0000"
    assert body["date_shipped"] == ""
    assert body["subtotal_inc_tax"] == "29.0000"
    assert body["items_total"] == 3
    assert body["order_is_digital"] is False
    assert body["shipping_address_count"] == 1
    assert body["shipping_addresses"]["resource"] == f"/orders/{order.id}/shipping_addresses"
    assert body["shipping_addresses"]["url"].startswith(sandbox.api_url)
    assert body["status"] == "Awaiting Shipment"
    assert body["billing_address"]["first_name"] == "Zoë"
    assert body["fees"]["resource"] == f"/orders/{order.id}/fees"
    assert body["products"]["resource"] == f"/orders/{order.id}/products"
    async with api.request("GET", f"/v2/orders/{order.id}", params={"include": "fees"}) as resp:
        assert (await resp.json())["fees"] == []


async def test_include_consignments_as_object(sandbox: Sandbox, store: Store, api: Api) -> None:
    order = sandbox.add_order(
        store.hash,
        [
            LineSpec(address=0),
            LineSpec(address=1),
            LineSpec(type="giftcertificate"),
            LineSpec(type="digital"),
            LineSpec(name="Collected"),
        ],
        addresses=[AddressSpec(), AddressSpec(shipping_method="Flat Rate")],
    )
    order.lines[4].order_pickup_method_id = 3
    params = {"include": "consignments,consignments.line_items", "consignment_structure": "object"}
    async with api.request("GET", f"/v2/orders/{order.id}", params=params) as resp:
        consignments = (await resp.json())["consignments"]
    # orderConsignment_Get: each kind of line in its own consignment, lines as order products
    assert set(consignments) == {"pickups", "shipping", "downloads", "email"}
    assert [c["id"] for c in consignments["shipping"]] == [a.id for a in order.addresses]
    assert [[ln["id"] for ln in c["line_items"]] for c in consignments["shipping"]] == [
        [order.lines[0].id],
        [order.lines[1].id],
    ]
    first = consignments["shipping"][0]
    assert first["line_items"][0]["weight"] == f"{order.lines[0].weight:.4f}"
    assert first["shipping_quotes"]["resource"] == (
        f"/orders/{order.id}/consignments/shipping/{order.addresses[0].id}/shipping_quotes"
    )
    assert "order_id" not in first
    [pickup] = consignments["pickups"]
    assert (pickup["pickup_method_id"], [ln["id"] for ln in pickup["line_items"]]) == (3, [order.lines[4].id])
    [download] = consignments["downloads"]
    assert [ln["id"] for ln in download["line_items"]] == [order.lines[3].id]
    [card] = consignments["email"]["gift_certificates"]
    assert [ln["id"] for ln in card["line_items"]] == [order.lines[2].id]


async def test_consignment_lines_are_links_unless_expanded_and_may_lack_fields(
    sandbox: Sandbox, store: Store, api: Api
) -> None:
    order = sandbox.add_order(store.hash)
    line = order.lines[0]
    params = {"include": "consignments", "consignment_structure": "object"}
    async with api.request("GET", f"/v2/orders/{order.id}", params=params) as resp:
        [shipping] = (await resp.json())["consignments"]["shipping"]
    assert shipping["line_items"] == [
        {"url": f"{sandbox.api_url}/stores/{store.hash}/v2/orders/{order.id}/products/{line.id}",
         "resource": f"/orders/{order.id}/products/{line.id}"}
    ]  # fmt: skip
    order.consignment_line_gaps = ("weight",)
    params = {"include": "consignments.line_items", "consignment_structure": "object"}
    async with api.request("GET", "/v2/orders", params=params) as resp:
        [listed] = await resp.json()
    [item] = listed["consignments"]["shipping"][0]["line_items"]
    assert "weight" not in item
    assert item["price_inc_tax"]
    async with api.request("GET", f"/v2/orders/{order.id}/products") as resp:
        assert "weight" in (await resp.json())[0]


async def test_count_uses_the_same_filters(sandbox: Sandbox, store: Store, api: Api) -> None:
    sandbox.add_order(store.hash, status_id=9)
    sandbox.add_order(store.hash, status_id=9)
    sandbox.add_order(store.hash, status_id=11)
    async with api.request("GET", "/v2/orders/count") as resp:
        body = await resp.json()
    async with api.request("GET", "/v2/orders/count", params={"status_id": 11}) as resp:
        filtered = await resp.json()
    assert body["count"] == 3
    by_id = {s["id"]: s for s in body["statuses"]}
    assert by_id[9]["count"] == 2
    assert by_id[9]["name"] == "Awaiting Shipment"
    assert filtered["count"] == 1


async def test_unknown_order_is_a_v2_404(store: Store, api: Api) -> None:
    async with api.request("GET", "/v2/orders/999999") as resp:
        assert resp.status == 404
        assert await resp.json() == [{"status": 404, "message": "The requested resource was not found."}]


async def test_put_honours_only_status_id(sandbox: Sandbox, store: Store, api: Api, clock) -> None:
    order = sandbox.add_order(store.hash, status_id=9, customer_message="hi")
    clock.advance(60)
    async with api.request(
        "PUT", f"/v2/orders/{order.id}", json={"status_id": 10, "customer_message": "changed"}
    ) as resp:
        assert resp.status == 200
        body = await resp.json()
    assert body["status_id"] == 10
    assert body["customer_message"] == "hi"
    assert body["date_modified"] == "Fri, 27 Nov 2026 10:01:00 +0000"


async def test_put_is_deleted_archives_the_order(sandbox: Sandbox, store: Store, api: Api) -> None:
    order = sandbox.add_order(store.hash, status_id=9)
    async with api.request("PUT", f"/v2/orders/{order.id}", json={"is_deleted": "yes"}) as resp:
        assert resp.status == 400
    async with api.request("PUT", f"/v2/orders/{order.id}", json={"is_deleted": True}) as resp:
        assert resp.status == 200
        assert (await resp.json())["is_deleted"] is True
    assert order.is_deleted
    async with api.request("GET", "/v2/orders", params={"is_deleted": "false"}) as resp:
        assert resp.status == 204


async def test_put_with_a_read_only_field_is_400(sandbox: Sandbox, store: Store, api: Api) -> None:
    order = sandbox.add_order(store.hash, status_id=9)
    async with api.request("PUT", f"/v2/orders/{order.id}", json={"status_id": 2, "items": []}) as resp:
        assert resp.status == 400
        assert (await resp.json())[0]["message"].startswith("The field 'items' cannot be written to")
    async with api.request("PUT", f"/v2/orders/{order.id}", json={"status_id": 99}) as resp:
        assert resp.status == 400
    assert order.status_id == 9


async def test_post_and_put_need_json_content_type(sandbox: Sandbox, store: Store, api: Api) -> None:
    order = sandbox.add_order(store.hash, status_id=9)
    async with api.request(
        "PUT",
        f"/v2/orders/{order.id}",
        data="status_id=2",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ) as resp:
        assert resp.status == 415
    assert order.status_id == 9


async def test_products_fields(sandbox: Sandbox, store: Store, api: Api) -> None:
    order = sandbox.add_order(
        store.hash,
        [
            LineSpec(weight="1.5000", quantity=2, quantity_shipped=1),
            LineSpec(type="digital"),
            LineSpec(type="giftcertificate"),
        ],
    )
    async with api.request("GET", f"/v2/orders/{order.id}/products") as resp:
        lines = await resp.json()
    assert [ln["type"] for ln in lines] == ["physical", "digital", "giftcertificate"]
    first = lines[0]
    assert first["id"] == order.lines[0].id
    assert first["order_address_id"] == order.addresses[0].id
    assert first["quantity_shipped"] == 1
    assert first["weight"] == "1.5000"
    assert lines[1]["order_address_id"] == 0
    async with api.request("GET", f"/v2/orders/{order.id}/products", params={"limit": 2, "page": 2}) as resp:
        assert [ln["id"] for ln in await resp.json()] == [order.lines[2].id]


async def test_products_are_paginated_50_by_default(sandbox: Sandbox, store: Store, api: Api) -> None:
    order = sandbox.add_order(store.hash, [LineSpec() for _ in range(55)])
    async with api.request("GET", f"/v2/orders/{order.id}/products") as resp:
        assert len(await resp.json()) == 50
    async with api.request("GET", f"/v2/orders/{order.id}/products", params={"page": 2}) as resp:
        assert len(await resp.json()) == 5


async def test_shipping_addresses(sandbox: Sandbox, store: Store, api: Api) -> None:
    order = sandbox.add_order(store.hash, [LineSpec(quantity=3)])
    digital = sandbox.add_order(store.hash, [LineSpec(type="digital")])
    async with api.request("GET", f"/v2/orders/{order.id}/shipping_addresses") as resp:
        (address,) = await resp.json()
    assert address["id"] == order.addresses[0].id
    assert address["items_total"] == 3
    assert address["shipping_method"] == "Royal Mail Tracked 48"
    assert address["cost_inc_tax"] == "3.9900"
    assert address["country_iso2"] == "GB"
    async with api.request("GET", f"/v2/orders/{digital.id}/shipping_addresses") as resp:
        assert resp.status == 204
