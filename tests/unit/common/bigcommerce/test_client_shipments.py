"""Shipment creation: the body sent, and no duplicate after a timed-out or failed POST."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from common.bigcommerce import NewShipment, NewShipmentItem, Unavailable

from .conftest import STORE, TOKEN, Backoff, MakeClient, RequestLog, Serve

ORDER_ID = 101


class ShipmentStore:
    """Shipments of one order; the next POSTs can be made to fail before or after the write."""

    def __init__(self, log: RequestLog) -> None:
        self.log = log
        self.shipments: list[dict[str, Any]] = []
        # Per POST, in turn: "ok", "hang-after-write", "500-after-write", "503-before-write".
        self.plan: list[str] = []
        self.release = asyncio.Event()

    async def create(self, request: web.Request) -> web.Response:
        seen = await self.log.note(request)
        step = self.plan.pop(0) if self.plan else "ok"
        if step == "503-before-write":
            return web.json_response([{"status": 503, "message": "Maintenance"}], status=503)
        body = seen.body
        shipment = {
            "id": len(self.shipments) + 1,
            "order_id": ORDER_ID,
            "customer_id": 0,
            "order_address_id": body["order_address_id"],
            "date_created": "Tue, 20 Nov 2012 00:00:00 +0000",
            "tracking_number": body.get("tracking_number", ""),
            "shipping_provider": body.get("shipping_provider", ""),
            "tracking_carrier": body.get("tracking_carrier", ""),
            "tracking_link": body.get("tracking_link", ""),
            "generated_tracking_link": "https://track.example/" + body.get("tracking_number", ""),
            "shipping_method": body.get("shipping_method", ""),
            "comments": body.get("comments", ""),
            "items": [
                {"order_product_id": i["order_product_id"], "product_id": 0, "quantity": i["quantity"]}
                for i in body["items"]
            ],
        }
        self.shipments.append(shipment)
        if step == "hang-after-write":
            await self.release.wait()  # the client gives up first
        if step == "500-after-write":
            return web.json_response([{"status": 500, "message": "Internal error"}], status=500)
        return web.json_response(shipment, status=201)

    async def list(self, request: web.Request) -> web.Response:
        await self.log.note(request)
        if not self.shipments:
            return web.Response(status=204)
        return web.json_response(self.shipments)

    def app(self) -> web.Application:
        app = web.Application()
        path = f"/stores/{STORE}/v2/orders/{ORDER_ID}/shipments"
        app.router.add_post(path, self.create)
        app.router.add_get(path, self.list)
        return app


@pytest.fixture
async def store(request_log: RequestLog) -> AsyncIterator[ShipmentStore]:
    shipment_store = ShipmentStore(request_log)
    yield shipment_store
    shipment_store.release.set()  # let a hanging handler finish so the server closes promptly


def new_shipment(tracking: str = "TT123456785GB", **overrides: Any) -> NewShipment:
    fields: dict[str, Any] = {
        "order_address_id": 9,
        "items": [NewShipmentItem(order_product_id=5, quantity=1)],
        "tracking_number": tracking,
        "shipping_provider": "royalmail",
        "shipping_method": "Tracked 48",
        **overrides,
    }
    return NewShipment(**fields)


async def test_a_shipment_is_posted_with_only_the_fields_set(
    serve: Serve, make_client: MakeClient, request_log: RequestLog, store: ShipmentStore
) -> None:
    url = await serve(store.app())
    api = make_client(url).store(STORE, TOKEN)

    created = await api.create_shipment(ORDER_ID, new_shipment())

    [post] = [s for s in request_log.seen if s.method == "POST"]
    assert post.body == {
        "order_address_id": 9,
        "items": [{"order_product_id": 5, "quantity": 1}],
        "tracking_number": "TT123456785GB",
        "shipping_provider": "royalmail",
        "tracking_carrier": "",
        "shipping_method": "Tracked 48",
    }
    assert post.headers["Content-Type"] == "application/json"
    assert (created.id, created.order_address_id, created.tracking_number) == (1, 9, "TT123456785GB")
    assert created.items[0].order_product_id == 5


async def test_a_timed_out_post_is_found_not_duplicated(
    serve: Serve,
    make_client: MakeClient,
    request_log: RequestLog,
    store: ShipmentStore,
    backoff: Backoff,
) -> None:
    store.plan = ["hang-after-write"]
    url = await serve(store.app())
    client = make_client(url, timeout=aiohttp.ClientTimeout(total=0.3))
    api = client.store(STORE, TOKEN)

    created = await api.create_shipment(ORDER_ID, new_shipment())

    assert len(store.shipments) == 1
    assert created.id == store.shipments[0]["id"]
    assert [s.method for s in request_log.seen] == ["POST", "GET"]
    assert backoff.delays == [5.0]  # a write's first backoff (random pinned to 1)


async def test_a_500_after_the_write_is_found_not_duplicated(
    serve: Serve, make_client: MakeClient, request_log: RequestLog, store: ShipmentStore
) -> None:
    store.plan = ["500-after-write"]
    url = await serve(store.app())
    api = make_client(url).store(STORE, TOKEN)

    created = await api.create_shipment(ORDER_ID, new_shipment())

    assert len(store.shipments) == 1
    assert created.id == 1
    assert [s.method for s in request_log.seen] == ["POST", "GET"]


async def test_a_failure_before_the_write_is_posted_again(
    serve: Serve, make_client: MakeClient, request_log: RequestLog, store: ShipmentStore
) -> None:
    store.plan = ["503-before-write", "503-before-write"]
    url = await serve(store.app())
    api = make_client(url).store(STORE, TOKEN)

    created = await api.create_shipment(ORDER_ID, new_shipment())

    assert len(store.shipments) == 1
    assert created.id == 1
    assert [s.method for s in request_log.seen] == ["POST", "GET", "POST", "GET", "POST"]


async def test_a_different_shipment_of_the_same_order_is_not_taken_for_ours(
    serve: Serve, make_client: MakeClient, request_log: RequestLog, store: ShipmentStore
) -> None:
    url = await serve(store.app())
    api = make_client(url).store(STORE, TOKEN)
    await api.create_shipment(ORDER_ID, new_shipment(tracking="EARLIER1GB"))
    two_mugs = [NewShipmentItem(order_product_id=5, quantity=2)]
    await api.create_shipment(ORDER_ID, new_shipment(items=two_mugs))  # same tracking, other items
    store.plan = ["503-before-write"]

    created = await api.create_shipment(ORDER_ID, new_shipment())

    assert created.id == 3
    assert [s["tracking_number"] for s in store.shipments] == [
        "EARLIER1GB",
        "TT123456785GB",
        "TT123456785GB",
    ]


async def test_exhausted_shipment_retries_are_unavailable_and_never_duplicate(
    serve: Serve, make_client: MakeClient, store: ShipmentStore
) -> None:
    store.plan = ["503-before-write"] * 10
    url = await serve(store.app())
    api = make_client(url, max_attempts=3).store(STORE, TOKEN)

    with pytest.raises(Unavailable) as raised:
        await api.create_shipment(ORDER_ID, new_shipment())

    assert raised.value.method == "POST"
    assert raised.value.status == 503
    assert store.shipments == []


def test_new_shipment_validates_its_fields() -> None:
    with pytest.raises(ValueError, match="items"):
        NewShipment(order_address_id=9, items=[])
    with pytest.raises(ValueError, match="tracking_number"):
        new_shipment(tracking="X" * 51)
    with pytest.raises(ValueError, match="quantity"):
        NewShipmentItem(order_product_id=5, quantity=0)
