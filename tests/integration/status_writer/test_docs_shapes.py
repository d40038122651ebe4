"""The writer against a plain BigCommerce fake serving the documented shapes, on the database's clock."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from common.bigcommerce.client import BigCommerceClient
from common.crypto import TokenCipher, generate_key
from common.db.despatches import NewDespatch, record_despatches
from status_writer.flusher import Flusher
from status_writer.planning import tracking_link
from status_writer.store_flush import FlushPolicy

from tests.support.status_writer import POLICY, despatch

STORE = "g5cd38"
ADDRESS_ID = 128


@dataclass
class DocsStore:
    """Orders 100 and 200, each one physical line without order_address_id plus a digital line."""

    posted: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    put: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    shipments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)
    # answers to break: the created shipment's echo, and the status change
    unreadable_created: bool = False
    put_status: int = 200

    async def products(self, request: web.Request) -> web.Response:
        order_id = int(request.match_info["order_id"])
        self.paths.append(request.path)
        return web.json_response(
            [
                {
                    "id": order_id + 1,
                    "order_id": order_id,
                    "product_id": 80,
                    "name": "Terrarium",
                    "type": "physical",
                    "quantity": 2,
                    "quantity_shipped": 0,
                    "weight": 1,
                    "price_inc_tax": "109.0000",
                },
                {
                    "id": order_id + 2,
                    "order_id": order_id,
                    "product_id": 81,
                    "name": "E-book",
                    "type": "digital",
                    "quantity": 1,
                    "weight": 0,
                },
            ]
        )

    async def addresses(self, request: web.Request) -> web.Response:
        order_id = int(request.match_info["order_id"])
        self.paths.append(request.path)
        return web.json_response(
            [{"id": ADDRESS_ID, "order_id": order_id, "first_name": "Jane", "company": None}]
        )

    async def list_shipments(self, request: web.Request) -> web.Response:
        order_id = int(request.match_info["order_id"])
        self.paths.append(request.path)
        found = self.shipments.get(order_id)
        return web.json_response(found) if found else web.Response(status=204)

    async def create_shipment(self, request: web.Request) -> web.Response:
        order_id = int(request.match_info["order_id"])
        body = await request.json()
        self.posted.append((order_id, body))
        shipment = {
            "id": len(self.posted),
            "order_id": order_id,
            "customer_id": 0,
            "order_address_id": body["order_address_id"],
            "date_created": "Tue, 20 Nov 2012 00:00:00 +0000",
            "tracking_number": body.get("tracking_number", ""),
            "shipping_method": body.get("shipping_method", ""),
            "shipping_provider": body.get("shipping_provider", ""),
            "tracking_carrier": "",
            "tracking_link": body.get("tracking_link", ""),
            "comments": "",
            "billing_address": {},
            "shipping_address": {},
            "items": [{**item, "product_id": 80} for item in body["items"]],
        }
        self.shipments.setdefault(order_id, []).append(shipment)
        return web.json_response({} if self.unreadable_created else shipment, status=201)

    async def update_order(self, request: web.Request) -> web.Response:
        self.put.append((int(request.match_info["order_id"]), await request.json()))
        if self.put_status != 200:
            return web.json_response([{"status": self.put_status, "message": "no"}], status=self.put_status)
        return web.json_response({})  # an answer without the order echoed back

    def app(self) -> web.Application:
        app = web.Application()
        base = f"/stores/{STORE}/v2/orders/{{order_id}}"
        app.router.add_get(f"{base}/products", self.products)
        app.router.add_get(f"{base}/shipping_addresses", self.addresses)
        app.router.add_get(f"{base}/shipments", self.list_shipments)
        app.router.add_post(f"{base}/shipments", self.create_shipment)
        app.router.add_put(base, self.update_order)
        return app


@pytest.fixture
async def docs_store() -> AsyncIterator[tuple[DocsStore, str]]:
    store = DocsStore()
    server = TestServer(store.app())
    await server.start_server()
    try:
        yield store, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def add_channel(pool: asyncpg.Pool, cipher: TokenCipher) -> uuid.UUID:
    channel_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO channels (id, store_hash, status, store_name, trading_name, access_token_encrypted)"
        " VALUES ($1, $2, 'active', 'Shop', 'Shop', $3)",
        channel_id,
        STORE,
        cipher.encrypt("token"),
    )
    return channel_id


async def test_documented_shapes_are_written_back_on_the_database_clock(
    pool: asyncpg.Pool, docs_store: tuple[DocsStore, str]
) -> None:
    store, url = docs_store
    cipher = TokenCipher([generate_key()])
    channel_id = await add_channel(pool, cipher)
    tracked = despatch(channel_id, STORE, 100, tracking_number="TT123456785GB", service_name="Tracked 48")
    untracked = despatch(channel_id, STORE, 200, tracking_number=None, service_name=None)
    later = despatch(channel_id, STORE, 300)
    async with pool.acquire() as conn, conn.transaction():
        await record_despatches(conn, [NewDespatch(tracked), NewDespatch(untracked), NewDespatch(later)])
    # not due for an hour by the database's clock: whatever the host's clock says
    await pool.execute(
        "UPDATE despatches SET next_attempt_at = now() + interval '1 hour' WHERE order_id = 300"
    )

    async with aiohttp.ClientSession() as session:
        flusher = Flusher(pool, BigCommerceClient(session, url), cipher, policy=POLICY)  # no driven clock
        report = await flusher.flush_once()

    assert report.written == 2
    assert sorted(store.posted, key=lambda p: p[0]) == [
        (
            100,
            {
                "order_address_id": ADDRESS_ID,
                "items": [{"order_product_id": 101, "quantity": 2}],
                "tracking_number": "TT123456785GB",
                "shipping_provider": "royalmail",
                "tracking_carrier": "",
                "tracking_link": tracking_link("TT123456785GB"),
                "shipping_method": "Tracked 48",
            },
        ),
        (
            200,
            {
                "order_address_id": ADDRESS_ID,
                "items": [{"order_product_id": 201, "quantity": 2}],
                "shipping_provider": "royalmail",
                "tracking_carrier": "",
            },
        ),
    ]
    assert sorted(store.put) == [(100, {"status_id": 10}), (200, {"status_id": 10})]
    states = {r["order_id"]: r["state"] for r in await pool.fetch("SELECT order_id, state FROM despatches")}
    assert states == {100: "written", 200: "written", 300: "pending"}
    assert not any("/orders/300/" in p for p in store.paths)


@pytest.mark.parametrize("failure", ["unreadable_created", "put_418"])
async def test_an_unexpected_answer_after_the_post_is_reconciled_by_the_next_flush(
    pool: asyncpg.Pool, docs_store: tuple[DocsStore, str], failure: str
) -> None:
    store, url = docs_store
    store.unreadable_created = failure == "unreadable_created"
    store.put_status = 418 if failure == "put_418" else 200
    cipher = TokenCipher([generate_key()])
    channel_id = await add_channel(pool, cipher)
    async with pool.acquire() as conn, conn.transaction():
        await record_despatches(conn, [NewDespatch(despatch(channel_id, STORE, 100))])
    retry_at_once = FlushPolicy(lease_s=300, backoff_s=0, backoff_max_s=0)

    async with aiohttp.ClientSession() as session:
        flusher = Flusher(pool, BigCommerceClient(session, url), cipher, policy=retry_at_once)
        first = await flusher.flush_once()
        assert (first.written, first.deferred) == (0, 1)
        assert await pool.fetchval("SELECT state FROM despatches") == "posting"

        store.unreadable_created, store.put_status = False, 200
        second = await flusher.flush_once()

    assert second.written == 1
    assert len(store.posted) == 1  # found as created: never posted twice
    assert store.put[-1] == (100, {"status_id": 10})
    assert await pool.fetchval("SELECT state FROM despatches") == "written"
