"""The poller against a plain BigCommerce fake serving the documented example shapes, no rate-limit headers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import aiohttp
import asyncpg
import pytest
from aio_pika import DeliveryMode
from aio_pika.abc import AbstractQueue
from aiohttp import web
from aiohttp.test_utils import TestServer
from common.bigcommerce.client import BigCommerceClient
from common.crypto import TokenCipher, generate_key
from common.events import OrderDownloaded
from common.outbox import OutboxRelay
from order_poller.db.orders import skipped_orders
from order_poller.poller import Poller

from tests.support.amqp import get_messages
from tests.support.order_poller import FAST_CONFIG, add_channel, downloaded_ids

STORE = "g5cd38"


def rfc2822(when: datetime) -> str:
    return format_datetime(when.astimezone(UTC))


def rfc2822_to_z(value: str) -> str:
    return parsedate_to_datetime(value).astimezone(UTC).isoformat().replace("+00:00", "Z")


def example_order(
    order_id: int, created: datetime, *, status_id: int = 9, digital: bool = False
) -> dict[str, Any]:
    """The shape of the docs' order example (reference §4.2), with its resource links."""
    base = f"https://api.bigcommerce.com/stores/{STORE}/v2/orders/{order_id}"
    return {
        "id": order_id,
        "customer_id": 0,
        "date_created": rfc2822(created),
        "date_modified": rfc2822(created + timedelta(minutes=1)),
        "date_shipped": "",
        "status_id": status_id,
        "status": "Awaiting Shipment",
        "subtotal_ex_tax": "225.0000",
        "subtotal_inc_tax": "225.0000",
        "shipping_cost_inc_tax": "0.0000",
        "total_inc_tax": "225.0000",
        "items_total": 2,
        "items_shipped": 0,
        "order_is_digital": digital,
        "currency_code": "GBP",
        "billing_address": {
            "first_name": "Jane",
            "last_name": "Doe",
            "company": "",
            "street_1": "123 Main Street",
            "street_2": "",
            "city": "Austin",
            "state": "Texas",
            "zip": "78751",
            "country": "United States",
            "country_iso2": "US",
            "phone": "",
            "email": "janedoe@example.com",
            "form_fields": [],
        },
        "products": {"url": f"{base}/products", "resource": f"/orders/{order_id}/products"},
        "shipping_addresses": {
            "url": f"{base}/shipping_addresses",
            "resource": f"/orders/{order_id}/shipping_addresses",
        },
        "coupons": {"url": f"{base}/coupons", "resource": f"/orders/{order_id}/coupons"},
    }


def example_products(order_id: int) -> list[dict[str, Any]]:
    # weight as a number, no variant_id (a custom product), sku null, no order_pickup_method_id
    return [
        {
            "id": 11,
            "order_id": order_id,
            "product_id": 80,
            "order_address_id": 21,
            "name": "Orbit Terrarium - Large",
            "sku": None,
            "type": "physical",
            "base_price": "109.0000",
            "price_inc_tax": 109,
            "quantity": 2,
            "quantity_shipped": 0,
            "weight": 1,
        }
    ]


def example_addresses(order_id: int) -> list[dict[str, Any]]:
    return [
        {
            "id": 21,
            "order_id": order_id,
            "first_name": "Jane",
            "last_name": "Doe",
            "company": None,
            "street_1": "1 Castle Street",
            "street_2": None,
            "city": "Cardiff",
            "state": "",
            "zip": "CF10 1BS",
            "country": "United Kingdom",
            "country_iso2": "GB",
            "phone": None,
            "email": None,
            "shipping_method": "Flat Rate",
        }
    ]


@pytest.fixture
async def docs_fake() -> AsyncIterator[tuple[str, list[dict[str, Any]], list[str]]]:
    """A fake that ignores the list filters, ends lists with 204 and sends no rate-limit headers."""
    orders: list[dict[str, Any]] = []
    seen: list[str] = []

    async def store(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.json_response({"id": STORE, "name": "Example", "weight_units": "Pounds"})

    async def list_orders(request: web.Request) -> web.Response:
        seen.append(request.path)
        if request.query.get("page", "1") != "1":
            return web.Response(status=204)
        return web.json_response(orders)

    async def products(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.json_response(example_products(int(request.match_info["order_id"])))

    async def addresses(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.json_response(example_addresses(int(request.match_info["order_id"])))

    app = web.Application()
    app.router.add_get(f"/stores/{STORE}/v2/store", store)
    app.router.add_get(f"/stores/{STORE}/v2/orders", list_orders)
    app.router.add_get(f"/stores/{STORE}/v2/orders/{{order_id}}/products", products)
    app.router.add_get(f"/stores/{STORE}/v2/orders/{{order_id}}/shipping_addresses", addresses)
    server = TestServer(app)
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/"), orders, seen
    finally:
        await server.close()


async def test_documented_shapes_download_and_filters_are_checked_again(
    pool: asyncpg.Pool,
    relay: tuple[OutboxRelay, AbstractQueue],
    docs_fake: tuple[str, list[dict[str, Any]], list[str]],
) -> None:
    outbox, probe = relay
    url, orders, seen = docs_fake
    now = datetime.now(UTC).replace(microsecond=0)
    orders.extend(
        [
            example_order(100, now - timedelta(hours=1)),
            example_order(101, now - timedelta(hours=1), status_id=10),  # the fake ignored status_id
            example_order(102, now - timedelta(days=30)),  # the fake ignored min_date_created
            example_order(103, now - timedelta(hours=2), digital=True),
        ]
    )
    cipher = TokenCipher([generate_key()])
    channel_id = await add_channel(pool, cipher, STORE, "token")
    async with aiohttp.ClientSession() as session:
        poller = Poller(pool, BigCommerceClient(session, url), cipher, FAST_CONFIG)
        (result,) = await poller.run_once()

    assert result.outcome == "ok"
    assert await downloaded_ids(pool, STORE) == {100}
    assert {s.order_id: s.reason for s in await skipped_orders(pool, STORE)} == {103: "digital_order"}
    assert not any("/orders/101/" in p or "/orders/102/" in p for p in seen)
    assert await outbox.run_once() == 1
    (message,) = await get_messages(probe, 1, timeout_s=10)
    assert message.content_type == "application/json"
    assert message.delivery_mode == DeliveryMode.PERSISTENT
    assert message.routing_key == "bigcommerce.order.downloaded"
    assert message.type == "OrderDownloaded"
    body = json.loads(message.body)
    assert message.message_id == body["event_id"]
    assert body["occurred_at"].endswith("Z")
    assert body["trading_name"] == "Zoë's Shop"  # the channel's
    order = body["order"]
    assert set(order) == {
        "order_id", "status_id", "date_created", "date_modified", "currency_code", "subtotal_inc_tax",
        "shipping_cost_inc_tax", "total_inc_tax", "customer_message", "billing_address", "consignments",
    }  # fmt: skip
    assert (order["date_created"], order["total_inc_tax"]) == (
        rfc2822_to_z(orders[0]["date_created"]),
        "225.00",
    )
    assert set(order["consignments"][0]) == {"order_address_id", "address", "shipping_method", "items"}
    assert set(order["consignments"][0]["items"][0]) == {
        "order_product_id", "product_id", "variant_id", "sku", "name", "quantity", "unit_price_inc_tax",
        "weight_grams",
    }  # fmt: skip
    event = OrderDownloaded.model_validate(body)
    assert event.channel_id == channel_id
    [consignment] = event.order.consignments
    assert consignment.order_address_id == 21
    assert (consignment.address.company, consignment.address.phone, consignment.address.email) == ("", "", "")
    [item] = consignment.items
    assert (item.order_product_id, item.product_id, item.variant_id, item.sku) == (11, 80, None, "")
    assert item.quantity == 2
    assert str(item.weight_grams) == "453.59"  # 1 lb per unit, in grams
    assert str(item.unit_price_inc_tax) == "109.00"


def with_consignments(order: dict[str, Any], *, weight: bool) -> dict[str, Any]:
    """The order as `include=consignments.line_items&consignment_structure=object` documents it
    (`orderConsignment_Get`): its shipping consignment with the order products as line items."""
    [address] = example_addresses(order["id"])
    line = {**example_products(order["id"])[0], "price_inc_tax": "109.0000"}
    if not weight:
        del line["weight"]  # one report says consignment lines can lack weights (reference §4.6)
    shipping = {k: v for k, v in address.items() if k != "order_id"}
    shipping |= {"line_items": [line], "items_total": 2, "items_shipped": 0, "form_fields": []}
    consignments = {
        "pickups": [],
        "shipping": [shipping],
        "downloads": [],
        "email": {"gift_certificates": []},
    }
    return {**order, "consignments": consignments}


async def test_documented_consignments_stand_in_for_products_unless_a_line_lacks_its_weight(
    pool: asyncpg.Pool,
    relay: tuple[OutboxRelay, AbstractQueue],
    docs_fake: tuple[str, list[dict[str, Any]], list[str]],
) -> None:
    outbox, probe = relay
    url, orders, seen = docs_fake
    now = datetime.now(UTC).replace(microsecond=0)
    orders.extend(
        [
            with_consignments(example_order(104, now - timedelta(hours=1)), weight=True),
            with_consignments(example_order(105, now - timedelta(hours=1)), weight=False),
        ]
    )
    cipher = TokenCipher([generate_key()])
    await add_channel(pool, cipher, STORE, "token")
    async with aiohttp.ClientSession() as session:
        poller = Poller(pool, BigCommerceClient(session, url), cipher, FAST_CONFIG)
        (result,) = await poller.run_once()

    assert result.outcome == "ok"
    assert await downloaded_ids(pool, STORE) == {104, 105}
    per_order = [p for p in seen if "/orders/" in p]
    assert sorted(per_order) == [
        f"/stores/{STORE}/v2/orders/105/products",
        f"/stores/{STORE}/v2/orders/105/shipping_addresses",
    ]
    assert await outbox.run_once() == 2
    events = {
        e["order"]["order_id"]: e["order"]
        for e in (json.loads(m.body) for m in await get_messages(probe, 2, timeout_s=10))
    }
    # the same order either way
    assert events[104]["consignments"] == [{**events[105]["consignments"][0]}]
    assert events[104]["consignments"][0]["items"][0]["weight_grams"] == "453.59"
