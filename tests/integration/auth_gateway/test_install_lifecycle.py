"""Install, settings, activation, reinstall, scope update, uninstall and reconnection, end to end."""

from __future__ import annotations

from auth_gateway.pages.installed import INSTALLED_LINK_TEXT
from auth_gateway.webhook_registration import HOOK_SCOPE, WEBHOOK_HEADER

from tests.support.auth_gateway import GatewayRig


async def test_install_creates_pending_channel_with_app_installed_page(rig: GatewayRig) -> None:
    store = rig.create_store(name="Tea Shop", weight_units="Ounces", plan_name="Plus")
    callback = rig.sandbox.authorize(store.hash)
    async with rig.http.get(callback.url) as response:
        page = await response.text()
        assert response.status == 200
    row = await rig.channel_row(store.hash)
    assert row is not None
    assert row["status"] == "pending"
    assert (row["store_name"], row["weight_units"], row["plan_name"]) == ("Tea Shop", "Ounces", "Plus")
    assert "store_v2_orders" in row["scope"].split()
    assert row["owner_email"] == store.owner.email
    assert row["account_uuid"] == rig.sandbox.config.account_uuid
    assert "App installed" in page
    settings_url = f"{rig.settings.clickdrop_app_url}/channels/{row['id']}/settings?launch="
    assert f'<a href="{settings_url}' in page
    assert f'" target="_top">{INSTALLED_LINK_TEXT}</a>' in page
    token = rig.gateway.cipher.decrypt(row["access_token_encrypted"])
    assert rig.sandbox.tokens[token].store_hash == store.hash
    launches = await rig.pool.fetch(
        "SELECT user_id, is_owner FROM launch_tokens WHERE channel_id = $1", row["id"]
    )
    assert [(u["user_id"], u["is_owner"]) for u in launches] == [(store.owner.id, True)]


async def test_patch_then_activate_registers_hook_and_requests_download(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.installed_channel(store.hash)

    status, body, _ = await rig.api("POST", f"/api/v1/channels/{channel_id}/activate")
    assert status == 409
    assert [e["field"] for e in body["errors"]] == ["trading_name"]

    status, body, _ = await rig.api(
        "PATCH",
        f"/api/v1/channels/{channel_id}",
        json={
            "trading_name": "Your Company",
            "order_status_ids": [11, 9],
            "despatched_order_status": "shipped",
        },
    )
    assert status == 200, body
    assert (body["trading_name"], body["order_status_ids"], body["status"]) == (
        "Your Company",
        [11, 9],
        "pending",
    )

    status, body, _ = await rig.api("POST", f"/api/v1/channels/{channel_id}/activate")
    assert status == 200, body
    assert body["status"] == "active"
    assert body["next_download_at"] is not None
    hooks = rig.sandbox.hooks_for(store.hash, rig.settings.bigcommerce_client_id)
    assert [(h.scope, h.destination, h.is_active) for h in hooks] == [
        (HOOK_SCOPE, rig.settings.webhook_destination, True)
    ]
    secret = hooks[0].headers[WEBHOOK_HEADER]
    row = await rig.channel_row(store.hash)
    assert row is not None
    assert rig.gateway.cipher.decrypt(row["webhook_secret_encrypted"]) == secret


async def test_reinstall_and_scope_update_keep_channel_and_settings(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    await rig.api("PATCH", f"/api/v1/channels/{channel_id}", json={"mark_orders_as_despatched": False})
    before = await rig.channel_row(store.hash)
    assert before is not None

    scopes = ["store_v2_orders", "store_v2_information", "store_v2_products_read_only"]
    assert (await rig.install(store.hash, scopes=scopes)).status == 200

    after = await rig.channel_row(store.hash)
    assert after is not None
    assert after["id"] == channel_id
    assert after["status"] == "active"
    assert (after["trading_name"], after["mark_orders_as_despatched"]) == ("Your Company", False)
    assert "store_v2_products_read_only" in after["scope"].split()
    assert after["access_token_encrypted"] != before["access_token_encrypted"]
    # a new grant: pollers and writers holding the old token stop at their next check
    assert after["grant_generation"] == before["grant_generation"] + 1
    new_token = rig.gateway.cipher.decrypt(after["access_token_encrypted"])
    assert not rig.sandbox.tokens[new_token].revoked


async def test_uninstall_erases_token_and_reinstall_reconnects_same_channel(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)

    call = await rig.sandbox.uninstall_and_notify(store.hash)
    assert call.status == 204
    row = await rig.channel_row(store.hash)
    assert row is not None
    assert (row["status"], row["access_token_encrypted"]) == ("disconnected", None)

    assert (await rig.install(store.hash)).status == 200
    row = await rig.channel_row(store.hash)
    assert row is not None
    assert (row["id"], row["status"], row["trading_name"]) == (channel_id, "active", "Your Company")
    assert row["access_token_encrypted"] is not None
    # BigCommerce deleted the hooks on uninstall; the reconnection registered a new one
    hooks = rig.sandbox.hooks_for(store.hash, rig.settings.bigcommerce_client_id)
    assert len(hooks) == 1


async def test_reconnect_of_never_activated_channel_is_pending(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.installed_channel(store.hash)
    await rig.sandbox.uninstall_and_notify(store.hash)
    assert (await rig.install(store.hash)).status == 200
    row = await rig.channel_row(store.hash)
    assert row is not None
    assert (row["id"], row["status"]) == (channel_id, "pending")


async def test_refused_code_shows_error_page_and_stores_nothing(rig: GatewayRig) -> None:
    store = rig.create_store()
    callback = rig.sandbox.authorize(store.hash)
    assert (await rig.install_url(callback.url)).status == 200
    # the same code again: the login service refuses a used code
    response = await rig.install_url(callback.url)
    assert response.status == 400
    other = rig.create_store()
    forged = callback.url.replace(store.hash, other.hash)
    assert (await rig.install_url(forged)).status == 400
    assert await rig.channel_row(other.hash) is None


async def test_insufficient_scopes_refused_and_active_channel_stopped(rig: GatewayRig) -> None:
    store = rig.create_store()
    await rig.active_channel(store.hash)
    async with rig.http.get(
        rig.sandbox.authorize(store.hash, scopes=["store_v2_orders_read_only"]).url
    ) as response:
        page = await response.text()
        assert response.status == 403
    assert "Permissions missing" in page
    row = await rig.channel_row(store.hash)
    assert row is not None
    assert row["status"] == "reauthorization_required"

    fresh = rig.create_store()
    response = await rig.install(fresh.hash, scopes=["store_v2_orders"])
    assert response.status == 403
    assert await rig.pool.fetchval("SELECT count(*) FROM channels WHERE status = 'active'") == 0


async def test_reauthorization_required_becomes_active_on_auth_callback(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    rig.sandbox.revoke_tokens(store.hash)
    # a BigCommerce call with the revoked token answers 401: the hook check flags the channel
    rig.sandbox.hooks.clear()
    from auth_gateway.webhook_registration import register_hook

    assert await register_hook(rig.gateway, channel_id) == "failed"
    status, body, _ = await rig.api("GET", f"/api/v1/channels/{channel_id}")
    assert (status, body["status"]) == (200, "reauthorization_required")

    assert (await rig.install(store.hash)).status == 200
    status, body, _ = await rig.api("GET", f"/api/v1/channels/{channel_id}")
    assert body["status"] == "active"
