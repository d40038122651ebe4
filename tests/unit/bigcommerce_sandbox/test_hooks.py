"""Contract tests for v3 hooks and webhook delivery with the hook's custom headers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from bigcommerce_sandbox import AppConfig, ManualClock, Sandbox, Store, run_sandbox

from .conftest import APP, STORE_HASH, Api, Receiver

SCOPE = "store/order/statusUpdated"


async def create(api: Api, body: dict[str, Any]) -> tuple[int, Any]:
    async with api.request("POST", "/v3/hooks", json=body) as resp:
        return resp.status, await resp.json()


async def test_create_get_list_update_delete(store: Store, api: Api) -> None:
    status, created = await create(
        api,
        {
            "scope": SCOPE,
            "destination": "https://app.example.com/wh",
            "is_active": True,
            "headers": {"X-Secret": "s1"},
        },
    )
    assert status == 200
    hook = created["data"]
    assert created["meta"] == {}
    assert hook["client_id"] == APP.client_id
    assert hook["store_hash"] == STORE_HASH
    assert hook["headers"] == {"X-Secret": "s1"}
    async with api.request("GET", f"/v3/hooks/{hook['id']}") as resp:
        assert (await resp.json())["data"]["destination"] == "https://app.example.com/wh"
    async with api.request("PUT", f"/v3/hooks/{hook['id']}", json={"is_active": False}) as resp:
        assert (await resp.json())["data"]["is_active"] is False
    async with api.request("GET", "/v3/hooks", params={"is_active": "false"}) as resp:
        listing = await resp.json()
    assert [h["id"] for h in listing["data"]] == [hook["id"]]
    assert listing["meta"]["pagination"]["total"] == 1
    async with api.request("GET", "/v3/hooks", params={"scope": "store/order/created"}) as resp:
        assert (await resp.json())["data"] == []
    async with api.request("DELETE", f"/v3/hooks/{hook['id']}") as resp:
        assert resp.status == 200
    async with api.request("GET", f"/v3/hooks/{hook['id']}") as resp:
        assert resp.status == 404
        body = await resp.json()
    assert body["status"] == 404
    assert "title" in body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"destination": "https://app.example.com/wh"}, "scope"),
        ({"scope": SCOPE}, "destination"),
        ({"scope": "store/nothing", "destination": "https://app.example.com/wh"}, "scope"),
        ({"scope": SCOPE, "destination": "http://app.example.com/wh"}, "destination"),
        ({"scope": SCOPE, "destination": "https://app.example.com:8443/wh"}, "destination"),
        ({"scope": SCOPE, "destination": "https://app.example.com/wh", "headers": {"a": 1}}, "headers"),
    ],
)
async def test_invalid_hooks_are_422_with_errors(
    store: Store, api: Api, body: dict[str, Any], field: str
) -> None:
    status, error = await create(api, body)
    assert status == 422
    assert error["status"] == 422
    assert error["title"] == "JSON data is missing or invalid"
    assert field in error["errors"]


async def test_one_hook_per_scope_and_destination(store: Store, api: Api) -> None:
    body = {"scope": SCOPE, "destination": "https://app.example.com/wh"}
    assert (await create(api, body))[0] == 200
    assert (await create(api, body))[0] == 422


async def test_hooks_are_visible_only_to_their_app(sandbox: Sandbox, store: Store, api: Api) -> None:
    theirs = sandbox.create_hook(store.hash, SCOPE, "https://x.example.com/", client_id="other")
    async with api.request("GET", "/v3/hooks") as resp:
        assert (await resp.json())["data"] == []
    async with api.request("GET", f"/v3/hooks/{theirs.id}") as resp:
        assert resp.status == 404


@pytest.fixture
async def local(receiver: Receiver, clock: ManualClock) -> AsyncIterator[tuple[Sandbox, Api]]:
    async with (
        run_sandbox(app=APP, clock=clock, allow_insecure_destinations=True) as sandbox,
        aiohttp.ClientSession() as session,
    ):
        sandbox.create_store(STORE_HASH, rate_quota=10_000)
        yield sandbox, Api(session, sandbox, sandbox.issue_token(STORE_HASH))


async def test_insecure_destinations_only_when_allowed(
    receiver: Receiver, local: tuple[Sandbox, Api]
) -> None:
    _, api = local
    status, _ = await create(api, {"scope": SCOPE, "destination": f"{receiver.url}/wh"})
    assert status == 200


async def test_delivery_sends_the_documented_payload_with_custom_headers(
    receiver: Receiver, local: tuple[Sandbox, Api], clock: ManualClock
) -> None:
    sandbox, api = local
    await create(
        api,
        {
            "scope": SCOPE,
            "destination": f"{receiver.url}/wh",
            "headers": {"X-App-Webhook-Token": "per-store-secret"},
        },
    )
    order = sandbox.add_order(STORE_HASH, status_id=11)
    deliveries = await sandbox.emit_order_status_updated(STORE_HASH, order.id, 9)
    assert [d.status for d in deliveries] == [200]
    (request,) = receiver.requests
    assert request.method == "POST"
    assert request.path == "/wh"
    assert request.headers["X-App-Webhook-Token"] == "per-store-secret"
    payload = json.loads(request.body)
    assert payload["scope"] == SCOPE
    assert payload["store_id"] == str(sandbox.store(STORE_HASH).store_id)
    assert payload["producer"] == f"stores/{STORE_HASH}"
    assert payload["created_at"] == int(clock())
    assert payload["data"] == {
        "type": "order",
        "id": order.id,
        "status": {"previous_status_id": 11, "new_status_id": 9},
    }
    unsigned = {k: v for k, v in payload.items() if k != "hash"}
    canonical = json.dumps(unsigned, sort_keys=True, separators=(",", ":")).encode()
    assert payload["hash"] == hashlib.sha1(canonical, usedforsecurity=False).hexdigest()
    assert order.status_id == 9


async def test_store_id_can_be_numeric_as_older_docs_show(
    receiver: Receiver, local: tuple[Sandbox, Api]
) -> None:
    sandbox, _ = local
    sandbox.numeric_webhook_store_id = True
    sandbox.create_hook(STORE_HASH, SCOPE, f"{receiver.url}/wh")
    order = sandbox.add_order(STORE_HASH, status_id=11)
    await sandbox.emit_order_status_updated(STORE_HASH, order.id, 9)
    payload = json.loads(receiver.requests[0].body)
    assert payload["store_id"] == sandbox.store(STORE_HASH).store_id
    unsigned = {k: v for k, v in payload.items() if k != "hash"}
    canonical = json.dumps(unsigned, sort_keys=True, separators=(",", ":")).encode()
    assert payload["hash"] == hashlib.sha1(canonical, usedforsecurity=False).hexdigest()


async def test_inactive_hooks_and_other_scopes_get_nothing(
    receiver: Receiver, local: tuple[Sandbox, Api]
) -> None:
    sandbox, _ = local
    sandbox.create_hook(STORE_HASH, SCOPE, f"{receiver.url}/off", is_active=False)
    sandbox.create_hook(STORE_HASH, "store/shipment/created", f"{receiver.url}/ship")
    order = sandbox.add_order(STORE_HASH)
    assert await sandbox.emit_order_status_updated(STORE_HASH, order.id, 11) == []
    assert receiver.requests == []


async def test_status_put_through_the_api_emits(receiver: Receiver, local: tuple[Sandbox, Api]) -> None:
    sandbox, api = local
    sandbox.create_hook(STORE_HASH, "store/order/*", f"{receiver.url}/all")
    order = sandbox.add_order(STORE_HASH, status_id=9)
    async with api.request("PUT", f"/v2/orders/{order.id}", json={"status_id": 10}) as resp:
        assert resp.status == 200
    requests = await receiver.wait_for(2)
    scopes = sorted(json.loads(r.body)["scope"] for r in requests)
    assert scopes == ["store/order/statusUpdated", "store/order/updated"]
    await sandbox.drain()
    assert sorted(d.scope for d in sandbox.deliveries) == scopes


async def test_archiving_through_the_api_emits_archived(
    receiver: Receiver, local: tuple[Sandbox, Api]
) -> None:
    sandbox, api = local
    sandbox.create_hook(STORE_HASH, "store/order/archived", f"{receiver.url}/archived")
    order = sandbox.add_order(STORE_HASH, status_id=9)
    async with api.request("PUT", f"/v2/orders/{order.id}", json={"is_deleted": True}) as resp:
        assert resp.status == 200
    (request,) = await receiver.wait_for(1)
    payload = json.loads(request.body)
    assert payload["scope"] == "store/order/archived"
    assert payload["data"] == {"type": "order", "id": order.id}


async def test_at_most_ten_hooks_per_scope(store: Store, api: Api) -> None:
    for n in range(10):
        assert (await create(api, {"scope": SCOPE, "destination": f"https://a{n}.example.com/"}))[0] == 200
    status, error = await create(api, {"scope": SCOPE, "destination": "https://a10.example.com/"})
    assert status == 422
    assert "scope" in error["errors"]
    other = {"scope": "store/order/created", "destination": "https://a10.example.com/"}
    assert (await create(api, other))[0] == 200


async def test_shipment_creation_emits_shipment_and_status_events(
    receiver: Receiver, local: tuple[Sandbox, Api]
) -> None:
    sandbox, api = local
    sandbox.create_hook(STORE_HASH, "store/shipment/created", f"{receiver.url}/ship")
    sandbox.create_hook(STORE_HASH, SCOPE, f"{receiver.url}/status")
    order = sandbox.add_order(STORE_HASH, status_id=9)
    body = {
        "order_address_id": order.addresses[0].id,
        "items": [{"order_product_id": order.lines[0].id, "quantity": 1}],
    }
    async with api.request("POST", f"/v2/orders/{order.id}/shipments", json=body) as resp:
        shipment = await resp.json()
    requests = await receiver.wait_for(2)
    by_path = {r.path: json.loads(r.body) for r in requests}
    assert by_path["/ship"]["data"] == {"type": "shipment", "id": shipment["id"], "orderId": order.id}
    assert by_path["/status"]["data"]["status"] == {"previous_status_id": 9, "new_status_id": 2}


async def test_failed_deliveries_are_recorded(receiver: Receiver, local: tuple[Sandbox, Api]) -> None:
    sandbox, _ = local
    receiver.status = 500
    sandbox.create_hook(STORE_HASH, SCOPE, f"{receiver.url}/wh")
    sandbox.create_hook(STORE_HASH, SCOPE, "http://127.0.0.1:9/closed")
    order = sandbox.add_order(STORE_HASH)
    deliveries = await sandbox.emit_order_status_updated(STORE_HASH, order.id, 11)
    outcomes = {d.destination: (d.status, d.error) for d in deliveries}
    assert outcomes[f"{receiver.url}/wh"] == (500, None)
    status, error = outcomes["http://127.0.0.1:9/closed"]
    assert status is None
    assert error


async def test_uninstall_deletes_the_apps_hooks(store: Store, sandbox: Sandbox, api: Api) -> None:
    await create(api, {"scope": SCOPE, "destination": "https://app.example.com/wh"})
    sandbox.uninstall(store.hash)
    fresh = sandbox.issue_token(store.hash)
    async with api.request("GET", "/v3/hooks", headers={"X-Auth-Token": fresh}) as resp:
        assert (await resp.json())["data"] == []


def test_app_config_for_base_url_uses_the_gateway_paths() -> None:
    app = AppConfig.for_base_url("http://127.0.0.1:8080/", "id", "secret")
    assert app.auth_callback_url == "http://127.0.0.1:8080/bigcommerce/auth"
    assert app.load_callback_url == "http://127.0.0.1:8080/bigcommerce/load"
    assert app.uninstall_callback_url == "http://127.0.0.1:8080/bigcommerce/uninstall"
    assert app.remove_user_callback_url == "http://127.0.0.1:8080/bigcommerce/remove-user"
