"""Contract tests for shipments: validation rules, effects on quantities and order status."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox import AddressSpec, LineSpec, Order, Sandbox, Store

from .conftest import Api


def mixed_order(sandbox: Sandbox, store: Store) -> Order:
    return sandbox.add_order(
        store.hash,
        [LineSpec(quantity=2, address=0), LineSpec(quantity=1, address=1), LineSpec(type="digital")],
        addresses=[AddressSpec(), AddressSpec()],
    )


def body_for(order: Order, address: int, *items: tuple[int, int], **extra: Any) -> dict[str, Any]:
    return {
        "order_address_id": order.addresses[address].id,
        "shipping_provider": "royalmail",
        "tracking_number": "TT123456785GB",
        "items": [{"order_product_id": order.lines[i].id, "quantity": q} for i, q in items],
        **extra,
    }


async def post(api: Api, order: Order, body: dict[str, Any]) -> tuple[int, Any]:
    async with api.request("POST", f"/v2/orders/{order.id}/shipments", json=body) as resp:
        return resp.status, await resp.json()


async def test_list_is_204_when_there_are_no_shipments(sandbox: Sandbox, store: Store, api: Api) -> None:
    order = mixed_order(sandbox, store)
    async with api.request("GET", f"/v2/orders/{order.id}/shipments") as resp:
        assert resp.status == 204
        assert await resp.read() == b""


async def test_create_returns_201_with_a_royal_mail_tracking_link(
    sandbox: Sandbox, store: Store, api: Api
) -> None:
    order = mixed_order(sandbox, store)
    status, shipment = await post(api, order, body_for(order, 0, (0, 2)))
    assert status == 201
    assert shipment["order_id"] == order.id
    assert shipment["order_address_id"] == order.addresses[0].id
    assert shipment["items"] == [
        {"order_product_id": order.lines[0].id, "product_id": order.lines[0].product_id, "quantity": 2}
    ]
    assert shipment["generated_tracking_link"].endswith("TT123456785GB")
    assert "royalmail.com" in shipment["generated_tracking_link"]
    async with api.request("GET", f"/v2/orders/{order.id}/shipments/{shipment['id']}") as resp:
        assert (await resp.json())["tracking_number"] == "TT123456785GB"
    async with api.request("GET", f"/v2/orders/{order.id}/shipments/count") as resp:
        assert await resp.json() == {"count": 1}


async def test_partial_then_full_shipment_moves_status_3_then_2(
    sandbox: Sandbox, store: Store, api: Api
) -> None:
    order = mixed_order(sandbox, store)
    status, _ = await post(api, order, body_for(order, 0, (0, 1)))
    assert status == 201
    async with api.request("GET", f"/v2/orders/{order.id}") as resp:
        partial = await resp.json()
    assert partial["status_id"] == 3
    assert partial["items_shipped"] == 1
    assert partial["date_shipped"] == ""
    await post(api, order, body_for(order, 0, (0, 1)))
    status, _ = await post(api, order, body_for(order, 1, (1, 1)))
    assert status == 201
    async with api.request("GET", f"/v2/orders/{order.id}") as resp:
        done = await resp.json()
    # The digital line never ships, yet the order counts as fully shipped.
    assert done["status_id"] == 2
    assert done["date_shipped"] != ""
    async with api.request("GET", f"/v2/orders/{order.id}/products") as resp:
        assert [ln["quantity_shipped"] for ln in await resp.json()] == [2, 1, 0]


async def test_more_than_the_remaining_quantity_is_refused(sandbox: Sandbox, store: Store, api: Api) -> None:
    order = mixed_order(sandbox, store)
    await post(api, order, body_for(order, 0, (0, 1)))
    status, body = await post(api, order, body_for(order, 0, (0, 2)))
    assert status == 400
    assert body[0]["status"] == 400
    assert order.lines[0].quantity_shipped == 1
    assert len(order.shipments) == 1


async def test_items_must_belong_to_the_order_and_address(sandbox: Sandbox, store: Store, api: Api) -> None:
    order = mixed_order(sandbox, store)
    other = sandbox.add_order(store.hash)
    wrong_address = body_for(order, 0, (1, 1))
    status, _ = await post(api, order, wrong_address)
    assert status == 400
    foreign = body_for(order, 0)
    foreign["items"] = [{"order_product_id": other.lines[0].id, "quantity": 1}]
    status, _ = await post(api, order, foreign)
    assert status == 400
    digital = body_for(order, 0, (2, 1))
    status, _ = await post(api, order, digital)
    assert status == 400
    assert order.shipments == []


async def test_product_id_in_items_cannot_be_written(sandbox: Sandbox, store: Store, api: Api) -> None:
    order = mixed_order(sandbox, store)
    body = body_for(order, 0, (0, 1))
    body["items"][0]["product_id"] = order.lines[0].product_id
    status, error = await post(api, order, body)
    assert status == 400
    assert error[0]["message"].startswith("The field 'product_id' cannot be written to")


async def test_required_fields(sandbox: Sandbox, store: Store, api: Api) -> None:
    order = mixed_order(sandbox, store)
    no_items = body_for(order, 0)
    del no_items["items"]
    status, body = await post(api, order, no_items)
    assert status == 400
    assert "items" in body[0]["message"]
    no_address = body_for(order, 0, (0, 1))
    del no_address["order_address_id"]
    status, body = await post(api, order, no_address)
    assert status == 400
    assert "order_address_id" in body[0]["message"]


async def test_lengths_and_provider_enum(sandbox: Sandbox, store: Store, api: Api) -> None:
    order = mixed_order(sandbox, store)
    assert (await post(api, order, body_for(order, 0, (0, 1), tracking_number="X" * 51)))[0] == 400
    assert (await post(api, order, body_for(order, 0, (0, 1), tracking_link="h" * 501)))[0] == 400
    assert (await post(api, order, body_for(order, 0, (0, 1), shipping_provider="pigeon")))[0] == 400
    ok = body_for(order, 0, (0, 1), tracking_number="X" * 50, shipping_provider="carrier_12")
    assert (await post(api, order, ok))[0] == 201


async def test_update_cannot_write_items_and_delete_frees_quantities(
    sandbox: Sandbox, store: Store, api: Api
) -> None:
    order = mixed_order(sandbox, store)
    _, shipment = await post(api, order, body_for(order, 0, (0, 2)))
    path = f"/v2/orders/{order.id}/shipments/{shipment['id']}"
    async with api.request("PUT", path, json={"items": []}) as resp:
        assert resp.status == 400
    async with api.request("PUT", path, json={"tracking_number": "NEW1"}) as resp:
        assert (await resp.json())["tracking_number"] == "NEW1"
    async with api.request("DELETE", path) as resp:
        assert resp.status == 204
    assert order.lines[0].quantity_shipped == 0
    async with api.request("GET", path) as resp:
        assert resp.status == 404


async def test_shipment_on_unknown_order_is_404(store: Store, api: Api) -> None:
    async with api.request(
        "POST", "/v2/orders/424242/shipments", json={"order_address_id": 1, "items": []}
    ) as resp:
        assert resp.status == 404


async def test_comments_limit_and_provider_with_carrier(sandbox: Sandbox, store: Store, api: Api) -> None:
    order = mixed_order(sandbox, store)
    assert (await post(api, order, body_for(order, 0, (0, 1), comments="c" * 65536)))[0] == 400
    both = body_for(order, 0, (0, 1), tracking_carrier="royal-mail")
    status, error = await post(api, order, both)
    assert status == 400
    assert "tracking_carrier" in error[0]["message"]
    carrier_only = body_for(order, 0, (0, 1), shipping_provider="", tracking_carrier="royal-mail")
    status, created = await post(api, order, carrier_only)
    assert status == 201
    path = f"/v2/orders/{order.id}/shipments/{created['id']}"
    async with api.request("PUT", path, json={"shipping_provider": "royalmail"}) as resp:
        assert resp.status == 400
    ok = body_for(order, 0, (0, 1), comments="c" * 65535, tracking_carrier="")
    assert (await post(api, order, ok))[0] == 201


async def test_deleting_shipments_keeps_the_order_shipped(sandbox: Sandbox, store: Store, api: Api) -> None:
    order = sandbox.add_order(store.hash, [LineSpec(quantity=1)])
    status, _ = await post(api, order, body_for(order, 0, (0, 1)))
    assert status == 201
    assert order.status_id == 2
    async with api.request("DELETE", f"/v2/orders/{order.id}/shipments") as resp:
        assert resp.status == 204
    assert order.status_id == 2
    assert order.lines[0].quantity_shipped == 0
    async with api.request("GET", f"/v2/orders/{order.id}/shipments") as resp:
        assert resp.status == 204


async def test_pickup_lines_are_not_shipped_and_do_not_hold_the_order(
    sandbox: Sandbox, store: Store, api: Api
) -> None:
    order = sandbox.add_order(store.hash, [LineSpec(quantity=1), LineSpec(quantity=1)])
    order.lines[1].order_pickup_method_id = 1
    status, error = await post(api, order, body_for(order, 0, (1, 1)))
    assert status == 400
    assert str(order.lines[1].id) in error[0]["message"]
    status, _ = await post(api, order, body_for(order, 0, (0, 1)))
    assert status == 201
    assert order.status_id == 2
