"""Contract tests for the merchant's install flow: marketplace, permissions, Launch, Uninstall."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import aiohttp
import jwt
from bigcommerce_sandbox import AppConfig, Sandbox, Store, run_sandbox

from .conftest import APP, Receiver


async def test_marketplace_lists_the_app_with_install(
    sandbox: Sandbox, store: Store, http: aiohttp.ClientSession
) -> None:
    store.installed = False
    async with http.get(sandbox.marketplace_url, params={"store": store.hash}) as resp:
        page = await resp.text()
    assert "Royal Mail Click &amp; Drop" in page
    assert "/marketplace/install?store=abc123" in page
    assert "Launch" not in page


async def test_permissions_page_lists_the_scopes_in_the_guides_words(
    sandbox: Sandbox, store: Store, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{sandbox.marketplace_url}/install", params={"store": store.hash}) as r:
        page = await r.text()
    assert "View and modify orders" in page
    assert "View general store information" in page
    assert "View your basic information (name, email)" in page
    assert "Access your password" in page
    assert "Confirm" in page


async def test_confirm_redirects_the_browser_to_the_auth_callback(
    sandbox: Sandbox, store: Store, http: aiohttp.ClientSession
) -> None:
    async with http.post(
        f"{sandbox.marketplace_url}/install", data={"store": store.hash}, allow_redirects=False
    ) as resp:
        assert resp.status == 302
        location = resp.headers["Location"]
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == APP.auth_callback_url
    assert "context=stores%2Fabc123" in parts.query
    query = parse_qs(parts.query)
    assert query["scope"][0].split(" ")[:2] == ["store_v2_orders", "store_v2_information_read_only"]
    assert query["account_uuid"] == [APP.account_uuid]
    assert sandbox.codes[query["code"][0]].store_hash == "abc123"
    async with http.get(sandbox.marketplace_url, params={"store": store.hash}) as resp:
        page = await resp.text()
    assert "Launch" in page
    assert "Uninstall" in page


async def test_launch_redirects_to_the_load_callback_with_a_jwt(
    sandbox: Sandbox, store: Store, token: str, http: aiohttp.ClientSession
) -> None:
    async with http.get(
        f"{sandbox.marketplace_url}/launch", params={"store": store.hash}, allow_redirects=False
    ) as resp:
        assert resp.status == 302
        location = resp.headers["Location"]
    assert location.startswith(APP.load_callback_url + "?signed_payload_jwt=")
    payload = parse_qs(urlsplit(location).query)["signed_payload_jwt"][0]
    claims = jwt.decode(
        payload,
        APP.client_secret,
        algorithms=["HS256"],
        audience=APP.client_id,
        leeway=30,
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert claims["sub"] == "stores/abc123"


async def test_uninstall_button_calls_the_app_and_revokes(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    app = AppConfig.for_base_url(receiver.url, "cid", "receiver-app-client-secret-0123456789abcdef")
    async with run_sandbox(app=app) as sandbox:
        sandbox.create_store("mk1")
        token = sandbox.issue_token("mk1")
        async with http.post(f"{sandbox.marketplace_url}/uninstall", data={"store": "mk1"}) as r:
            page = await r.text()
        assert "uninstall callback: status 200" in page
        assert "/marketplace/install?store=mk1" in page
        async with http.get(f"{sandbox.api_url}/stores/mk1/v2/time", headers={"X-Auth-Token": token}) as resp:
            assert resp.status == 401
    assert [r.path for r in receiver.requests] == ["/bigcommerce/uninstall"]
