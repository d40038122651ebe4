"""The merchant's control-panel actions: what the API shows afterwards, `date_modified` and webhooks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import pytest
from bigcommerce_sandbox import AddressSpec, LineSpec, ManualClock, Sandbox, SandboxError, run_sandbox
from bigcommerce_sandbox.builders import DEFAULT_ADDRESS
from bigcommerce_sandbox.merchant import Merchant

from .conftest import APP, STORE_HASH, Api, Receiver


@pytest.fixture
async def local(receiver: Receiver, clock: ManualClock) -> AsyncIterator[tuple[Sandbox, Api]]:
    async with (
        run_sandbox(app=APP, clock=clock, allow_insecure_destinations=True) as sandbox,
        aiohttp.ClientSession() as session,
    ):
        sandbox.create_store(STORE_HASH, rate_quota=10_000)
        sandbox.create_hook(STORE_HASH, "store/order/*", f"{receiver.url}/orders")
        sandbox.create_hook(STORE_HASH, "store/shipment/created", f"{receiver.url}/shipments")
        yield sandbox, Api(session, sandbox, sandbox.issue_token(STORE_HASH))


async def get(api: Api, path: str) -> Any:
    async with api.request("GET", path) as resp:
        assert resp.status == 200
        return await resp.json()


def scopes(receiver: Receiver) -> list[str]:
    return [json.loads(r.body)["scope"] for r in receiver.requests]


async def test_cancel_moves_the_status_fires_status_updated_and_modifies(
    local: tuple[Sandbox, Api], receiver: Receiver, clock: ManualClock
) -> None:
    sandbox, api = local
    order = sandbox.add_order(STORE_HASH, [LineSpec(quantity=2)])
    clock.advance(60)
    await Merchant(sandbox, STORE_HASH).cancel(order.id)
    body = await get(api, f"/v2/orders/{order.id}")
    assert body["status_id"] == 5
    assert parsedate_to_datetime(body["date_modified"]) == order.date_created + timedelta(seconds=60)
    products = await get(api, f"/v2/orders/{order.id}/products")
    assert [(p["quantity"], p["quantity_refunded"]) for p in products] == [(2, 0)]
    assert scopes(receiver) == ["store/order/statusUpdated", "store/order/updated"]
    status = json.loads(receiver.requests[0].body)["data"]["status"]
    assert status == {"previous_status_id": 9, "new_status_id": 5}


async def test_decline_and_refund(local: tuple[Sandbox, Api]) -> None:
    sandbox, api = local
    declined = sandbox.add_order(STORE_HASH)
    refunded = sandbox.add_order(STORE_HASH, [LineSpec(quantity=3)])
    merchant = Merchant(sandbox, STORE_HASH)
    await merchant.decline(declined.id)
    await merchant.refund(refunded.id)
    assert (await get(api, f"/v2/orders/{declined.id}"))["status_id"] == 6
    body = await get(api, f"/v2/orders/{refunded.id}")
    assert (body["status_id"], body["payment_status"]) == (4, "refunded")
    products = await get(api, f"/v2/orders/{refunded.id}/products")
    assert [(p["quantity"], p["quantity_refunded"]) for p in products] == [(3, 3)]


async def test_edit_one_address_of_a_multi_address_order(
    local: tuple[Sandbox, Api], receiver: Receiver, clock: ManualClock
) -> None:
    sandbox, api = local
    order = sandbox.add_order(
        STORE_HASH,
        [LineSpec(address=0), LineSpec(address=1)],
        addresses=[AddressSpec(), AddressSpec(shipping_method="Flat Rate")],
    )
    first, second = (a.id for a in order.addresses)
    clock.advance(5)
    await Merchant(sandbox, STORE_HASH).edit_address(
        order.id, second, city="Leeds", zip="LS1 1AA", shipping_method="Next Day"
    )
    addresses = await get(api, f"/v2/orders/{order.id}/shipping_addresses")
    by_id = {a["id"]: a for a in addresses}
    assert (by_id[first]["city"], by_id[first]["shipping_method"]) == (
        DEFAULT_ADDRESS.city,
        "Royal Mail Tracked 48",
    )
    assert (by_id[second]["city"], by_id[second]["zip"], by_id[second]["shipping_method"]) == (
        "Leeds",
        "LS1 1AA",
        "Next Day",
    )
    listed = await get(
        api,
        "/v2/orders?include=consignments.line_items&consignment_structure=object&min_date_modified="
        + (order.date_created + timedelta(seconds=5)).isoformat().replace("+00:00", "Z"),
    )
    assert [o["id"] for o in listed] == [order.id]
    shipping = {c["id"]: c for c in listed[0]["consignments"]["shipping"]}
    assert shipping[second]["city"] == "Leeds"
    assert scopes(receiver) == ["store/order/updated"]


async def test_edit_quantity_and_refuse_what_cannot_be(local: tuple[Sandbox, Api]) -> None:
    sandbox, api = local
    order = sandbox.add_order(STORE_HASH, [LineSpec(quantity=1), LineSpec(quantity=2, quantity_shipped=1)])
    one, two = (ln.id for ln in order.lines)
    merchant = Merchant(sandbox, STORE_HASH)
    await merchant.edit_quantity(order.id, one, 4)
    products = await get(api, f"/v2/orders/{order.id}/products")
    assert [p["quantity"] for p in products] == [4, 2]
    with pytest.raises(SandboxError):
        await merchant.edit_quantity(order.id, two, 0)
    with pytest.raises(SandboxError):
        await merchant.edit_quantity(order.id, 999, 1)
    with pytest.raises(SandboxError):
        await merchant.edit_address(order.id, order.addresses[0].id, planet="Mars")


async def test_ship_by_hand_creates_shipments_and_moves_to_shipped(
    local: tuple[Sandbox, Api], receiver: Receiver
) -> None:
    sandbox, api = local
    order = sandbox.add_order(
        STORE_HASH,
        [LineSpec(quantity=2, address=0), LineSpec(address=1), LineSpec(type="digital")],
        addresses=[AddressSpec(), AddressSpec()],
    )
    await Merchant(sandbox, STORE_HASH).ship_by_hand(order.id, tracking_number="BYHAND1")
    shipments = await get(api, f"/v2/orders/{order.id}/shipments")
    assert sorted(s["order_address_id"] for s in shipments) == sorted(a.id for a in order.addresses)
    assert {s["tracking_number"] for s in shipments} == {"BYHAND1"}
    body = await get(api, f"/v2/orders/{order.id}")
    assert body["status_id"] == 2
    assert body["date_shipped"]
    products = await get(api, f"/v2/orders/{order.id}/products")
    assert [p["quantity_shipped"] for p in products] == [2, 1, 0]
    assert scopes(receiver).count("store/shipment/created") == 2
    assert "store/order/statusUpdated" in scopes(receiver)


async def test_touch_moves_only_date_modified(
    local: tuple[Sandbox, Api], receiver: Receiver, clock: ManualClock
) -> None:
    sandbox, api = local
    order = sandbox.add_order(STORE_HASH)
    before = await get(
        api, f"/v2/orders/{order.id}?include=consignments.line_items&consignment_structure=object"
    )
    clock.advance(30)
    await Merchant(sandbox, STORE_HASH).touch(order.id, staff_notes="called the customer")
    after = await get(
        api, f"/v2/orders/{order.id}?include=consignments.line_items&consignment_structure=object"
    )
    changed = {key for key in after if after[key] != before[key]}
    assert changed == {"date_modified", "staff_notes"}
    assert scopes(receiver) == ["store/order/updated"]


async def post_action(sandbox: Sandbox, order_id: int, **form: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{sandbox.base_url}/manage/orders/{order_id}/actions",
            data={"store": STORE_HASH, **form},
            allow_redirects=True,
        ) as response,
    ):
        return response.status, await response.text()


async def test_the_order_page_offers_the_actions_and_they_change_the_order(
    local: tuple[Sandbox, Api], receiver: Receiver
) -> None:
    sandbox, _ = local
    order = sandbox.add_order(STORE_HASH, [LineSpec(quantity=1)])
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{sandbox.base_url}/manage/orders/{order.id}") as page,
    ):
        html = await page.text()
    assert all(part in html for part in ("Merchant actions", 'value="cancel"', 'name="quantity"'))

    status, html = await post_action(
        sandbox, order.id, action="quantity", line=str(order.lines[0].id), quantity="3"
    )
    assert (status, "The quantity of line" in html) == (200, True)
    assert order.lines[0].quantity == 3
    status, html = await post_action(
        sandbox, order.id, action="address", address=str(order.addresses[0].id), city="Leeds", zip=""
    )
    assert (status, order.addresses[0].address.city) == (200, "Leeds")
    assert order.addresses[0].address.zip == DEFAULT_ADDRESS.zip  # left empty: unchanged
    status, html = await post_action(sandbox, order.id, action="cancel")
    assert (status, order.status_id) == (200, 5)
    assert "store/order/statusUpdated" in scopes(receiver)


async def test_hostile_or_impossible_actions_change_nothing(local: tuple[Sandbox, Api]) -> None:
    sandbox, _ = local
    order = sandbox.add_order(STORE_HASH, [LineSpec(quantity=2, quantity_shipped=2)])
    before = order.date_modified
    assert (await post_action(sandbox, order.id, action="explode"))[0] == 400
    assert (await post_action(sandbox, order.id, action="quantity", line="x", quantity="1"))[0] == 400
    assert (
        await post_action(sandbox, order.id, action="quantity", line=str(order.lines[0].id), quantity="0")
    )[0] == 400
    status, _ = await post_action(
        sandbox, order.id, action="address", address=str(order.addresses[0].id), city="Lee\x00ds"
    )
    assert status == 400
    assert (await post_action(sandbox, 99999, action="cancel"))[0] == 404
    # below what has shipped: refused with the reason on the page, nothing changed
    status, html = await post_action(
        sandbox, order.id, action="quantity", line=str(order.lines[0].id), quantity="1"
    )
    assert (status, "Not done" in html) == (200, True)
    assert (order.lines[0].quantity, order.status_id, order.date_modified) == (2, 9, before)
