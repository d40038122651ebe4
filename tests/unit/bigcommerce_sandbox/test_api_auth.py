"""Contract tests for X-Auth-Token, scopes, Accept and the error shapes of v2 and v3."""

from __future__ import annotations

import aiohttp
from bigcommerce_sandbox import Sandbox, Store

from .conftest import STORE_HASH, Api


async def test_missing_and_unknown_tokens_are_401(
    sandbox: Sandbox, store: Store, http: aiohttp.ClientSession
) -> None:
    url = f"{sandbox.api_url}/stores/{STORE_HASH}/v2/orders"
    async with http.get(url) as resp:
        assert resp.status == 401
        assert (await resp.json())[0]["status"] == 401
    async with http.get(url, headers={"X-Auth-Token": "nope"}) as resp:
        assert resp.status == 401


async def test_v3_401_is_a_problem_object(
    sandbox: Sandbox, store: Store, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{sandbox.api_url}/stores/{STORE_HASH}/v3/hooks") as resp:
        body = await resp.json()
    assert resp.status == 401
    assert body["status"] == 401
    assert body["title"].startswith("Unauthorized")
    assert "type" in body


async def test_a_token_of_another_store_is_401(sandbox: Sandbox, store: Store, api: Api) -> None:
    sandbox.create_store("other1")
    other_token = sandbox.issue_token("other1")
    async with api.request("GET", "/v2/orders", headers={"X-Auth-Token": other_token}) as resp:
        assert resp.status == 401


async def test_revoked_tokens_are_401(sandbox: Sandbox, store: Store, api: Api) -> None:
    async with api.request("GET", "/v2/time") as resp:
        assert resp.status == 200
    assert sandbox.revoke_tokens(store.hash) == 1
    async with api.request("GET", "/v2/time") as resp:
        assert resp.status == 401


async def test_missing_scope_is_403(sandbox: Sandbox, store: Store, api: Api) -> None:
    info_only = sandbox.issue_token(store.hash, ["store_v2_information_read_only"])
    async with api.request("GET", "/v2/orders", headers={"X-Auth-Token": info_only}) as resp:
        assert resp.status == 403
        assert (await resp.json())[0]["status"] == 403
    async with api.request("GET", "/v2/store", headers={"X-Auth-Token": info_only}) as resp:
        assert resp.status == 200


async def test_read_only_orders_scope_reads_but_cannot_write(
    sandbox: Sandbox, store: Store, api: Api
) -> None:
    order = sandbox.add_order(store.hash)
    read_only = sandbox.issue_token(store.hash, ["store_v2_orders_read_only"])
    headers = {"X-Auth-Token": read_only}
    async with api.request("GET", f"/v2/orders/{order.id}", headers=headers) as resp:
        assert resp.status == 200
    async with api.request("PUT", f"/v2/orders/{order.id}", headers=headers, json={"status_id": 2}) as resp:
        assert resp.status == 403
    async with api.request("GET", "/v2/store", headers=headers) as resp:
        assert resp.status == 403
    assert order.status_id == 9


async def test_hooks_need_no_scope(sandbox: Sandbox, store: Store, api: Api) -> None:
    bare = sandbox.issue_token(store.hash, ["store_v2_default"])
    async with api.request("GET", "/v3/hooks", headers={"X-Auth-Token": bare}) as resp:
        assert resp.status == 200


async def test_accept_must_allow_json(store: Store, api: Api) -> None:
    async with api.request("GET", "/v2/time", headers={"Accept": "text/html"}) as resp:
        assert resp.status == 406
    async with api.request("GET", "/v2/time", headers={"Accept": "*/*"}) as resp:
        assert resp.status == 200


async def test_unknown_paths_are_v2_404(store: Store, api: Api) -> None:
    async with api.request("GET", "/v2/nothing-here") as resp:
        assert resp.status == 404
        assert (await resp.json())[0]["status"] == 404
