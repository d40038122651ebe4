"""Reconnecting (CONTRACT §4/§5): "Disconnect Store" keeps the grant and "Update and activate" reconnects;
after an uninstall, activation is refused until the app is installed again; a refused token needs BigCommerce."""

from __future__ import annotations

import uuid

from auth_gateway.webhook_registration import HOOK_SCOPE

from tests.support.auth_gateway import GatewayRig


async def _events(rig: GatewayRig, channel_id: uuid.UUID) -> list[tuple[str, str]]:
    rows = await rig.pool.fetch(
        "SELECT event_type, body::jsonb->>'status' AS status FROM outbox"
        " WHERE body::jsonb->>'channel_id' = $1 ORDER BY id",
        str(channel_id),
    )
    return [(r["event_type"], r["status"]) for r in rows]


async def test_disconnect_store_keeps_the_grant_and_activate_reconnects_at_once(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    token_before = (await rig.channel_row(store.hash))["access_token_encrypted"]  # type: ignore[index]
    base = f"/api/v1/channels/{channel_id}"

    status, body, _ = await rig.api("POST", f"{base}/disconnect")
    assert (status, body["status"], body["reconnectable"]) == (200, "disconnected", True)
    row = await rig.channel_row(store.hash)
    assert row is not None
    # kept, still encrypted: the ciphertext is the one stored at install, never the token itself
    assert row["access_token_encrypted"] == token_before
    assert row["next_download_at"] is None
    assert rig.sandbox.hooks_for(store.hash) == []  # removed while the token still worked
    assert (await _events(rig, channel_id))[-1] == ("ChannelDisconnected", "disconnected")

    # disconnected: nothing is requested with the kept token, not even by a repeated disconnect
    rig.sandbox.clear_requests(store.hash)
    assert (await rig.api("POST", f"{base}/disconnect"))[0] == 200
    assert (await rig.api("POST", f"{base}/sync"))[0] == 409
    assert rig.sandbox.requests(store.hash) == []
    assert (await _events(rig, channel_id))[-1] == ("ChannelDisconnected", "disconnected")  # once

    # "Update and activate" reconnects: active, hook registered, events, a download requested
    status, body, _ = await rig.api("POST", f"{base}/activate", json={"trading_name": "Back Again"})
    assert status == 200, body
    assert (body["status"], body["trading_name"], body["reconnectable"]) == ("active", "Back Again", False)
    assert body["last_error"] is None
    assert body["next_download_at"] is not None
    assert [h.scope for h in rig.sandbox.hooks_for(store.hash)] == [HOOK_SCOPE]
    assert (await _events(rig, channel_id))[-2:] == [
        ("ChannelConnected", "active"),
        ("ChannelActivated", "active"),
    ]
    row = await rig.channel_row(store.hash)
    assert row is not None
    assert (row["id"], row["disconnected_at"], row["access_token_encrypted"]) == (
        channel_id,
        None,
        token_before,
    )


async def test_after_an_uninstall_activate_is_refused_saying_to_install_again(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    await rig.sandbox.uninstall_and_notify(store.hash)
    status, body, _ = await rig.api("GET", f"/api/v1/channels/{channel_id}")
    assert (body["status"], body["reconnectable"]) == ("disconnected", False)

    status, body, response = await rig.api("POST", f"/api/v1/channels/{channel_id}/activate")
    assert status == 409
    assert response.content_type == "application/problem+json"
    assert "install the app again" in body["detail"]
    assert (await rig.channel_row(store.hash))["status"] == "disconnected"  # type: ignore[index]


async def test_an_uninstall_after_disconnect_store_erases_the_kept_grant(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    assert (await rig.api("POST", f"/api/v1/channels/{channel_id}/disconnect"))[0] == 200
    await rig.sandbox.uninstall_and_notify(store.hash)

    row = await rig.channel_row(store.hash)
    assert row is not None
    assert (row["status"], row["access_token_encrypted"]) == ("disconnected", None)
    # already disconnected: the uninstall publishes nothing more
    assert [e for e, _ in await _events(rig, channel_id)].count("ChannelDisconnected") == 1
    status, body, _ = await rig.api("POST", f"/api/v1/channels/{channel_id}/activate")
    assert status == 409
    assert "install the app again" in body["detail"]

    # installing again reconnects the same channel, active as it was, settings kept
    assert (await rig.install(store.hash)).status == 200
    status, body, _ = await rig.api("GET", f"/api/v1/channels/{channel_id}")
    assert (body["status"], body["trading_name"]) == ("active", "Your Company")


async def test_a_refused_token_cannot_be_activated_nor_kept_by_disconnect_store(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    await rig.pool.execute(
        "UPDATE channels SET status = 'reauthorization_required' WHERE id = $1", channel_id
    )
    status, body, _ = await rig.api("POST", f"/api/v1/channels/{channel_id}/activate")
    assert status == 409
    assert "open the Click & Drop app again" in body["detail"]

    rig.sandbox.clear_requests(store.hash)
    status, body, _ = await rig.api("POST", f"/api/v1/channels/{channel_id}/disconnect")
    assert (status, body["status"], body["reconnectable"]) == (200, "disconnected", False)
    assert rig.sandbox.requests(store.hash) == []  # the refused token is not sent to delete hooks
    row = await rig.channel_row(store.hash)
    assert row is not None
    assert row["access_token_encrypted"] is None  # no more requests with it until a new install
    assert (await rig.api("POST", f"/api/v1/channels/{channel_id}/activate"))[0] == 409


async def test_launch_opens_the_settings_page_of_a_disconnected_channel(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    assert (await rig.api("POST", f"/api/v1/channels/{channel_id}/disconnect"))[0] == 200
    rig.sandbox.clear_requests(store.hash)

    launched_id, launch = await rig.launch(store.hash)
    assert launched_id == channel_id
    async with rig.browser() as browser:
        await rig.open_settings(browser, channel_id, launch)
    assert rig.sandbox.requests(store.hash) == []  # no hook repair for a disconnected channel


async def test_delete_erases_a_disconnected_channel_and_its_kept_grant(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    assert (await rig.api("POST", f"/api/v1/channels/{channel_id}/disconnect"))[0] == 200
    rig.sandbox.clear_requests(store.hash)
    assert (await rig.api("DELETE", f"/api/v1/channels/{channel_id}"))[0] == 204
    assert await rig.channel_row(store.hash) is None
    assert rig.sandbox.requests(store.hash) == []
    # BigCommerce's Launch of a store whose channel was deleted: a page, not a dead end
    response = await rig.callback("load", rig.sandbox.signed_payload(store.hash))
    assert response.status == 403
