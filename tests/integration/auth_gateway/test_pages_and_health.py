"""The demo channel settings page (escaped, form-token protected) and the operational routes."""

from __future__ import annotations

import re

from tests.support.auth_gateway import GatewayRig


async def _page(rig: GatewayRig, path: str) -> tuple[int, str]:
    async with rig.http.get(f"{rig.base_url}{path}") as response:
        return response.status, await response.text()


async def test_settings_page_updates_and_activates(rig: GatewayRig) -> None:
    store = rig.create_store(name="<script>alert(1)</script>")
    channel_id = await rig.installed_channel(store.hash)
    url = f"/channels/{channel_id}/settings"
    status, html = await _page(rig, url)
    assert status == 200
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    for label in (
        "Trading name *",
        "Store name *",
        "Mark orders as despatched",
        "Update and activate",
        "Update",
        "Delete",
        "Disconnect Store",
        "Connection expires",
    ):
        assert label in html
    match = re.search(r'name="form_token" value="([0-9a-f]+)"', html)
    assert match is not None
    form = {
        "form_token": match[1],
        "trading_name": "Your Company",
        "store_name": "BigCommerce",
        "action": "activate",
    }

    async with rig.http.post(f"{rig.base_url}{url}", data={**form, "form_token": "forged"}) as response:
        assert response.status == 403
    async with rig.http.post(f"{rig.base_url}{url}", data={**form, "trading_name": ""}) as response:
        assert response.status == 422
    assert (await rig.channel_row(store.hash))["status"] == "pending"  # type: ignore[index]

    async with rig.http.post(f"{rig.base_url}{url}", data=form) as response:
        assert response.status == 200
        assert "Your channel is active" in await response.text()
    row = await rig.channel_row(store.hash)
    assert row is not None
    # the checkbox was not sent: unticked
    assert (row["status"], row["trading_name"], row["mark_orders_as_despatched"]) == (
        "active",
        "Your Company",
        False,
    )

    # an active channel keeps its required names: the form's change is refused as a whole
    update = {**form, "action": "update", "trading_name": "", "mark_orders_as_despatched": "on"}
    async with rig.http.post(f"{rig.base_url}{url}", data=update) as response:
        assert response.status == 422
        assert "required while the channel is active" in await response.text()
    row = await rig.channel_row(store.hash)
    assert row is not None
    assert (row["trading_name"], row["mark_orders_as_despatched"]) == ("Your Company", False)

    async with rig.http.post(f"{rig.base_url}{url}", data={**form, "action": "disconnect"}) as response:
        assert response.status == 200
        page = await response.text()
    assert "Store disconnected" in page
    assert "Disconnect Store" not in page  # nothing left to disconnect
    row = await rig.channel_row(store.hash)
    assert row is not None
    assert (row["status"], row["access_token_encrypted"]) == ("disconnected", None)

    async with rig.http.post(f"{rig.base_url}{url}", data={**form, "action": "delete"}) as response:
        assert response.status == 200
    assert await rig.channel_row(store.hash) is None
    assert (await _page(rig, url))[0] == 404
    assert (await _page(rig, "/channels/not-a-uuid/settings"))[0] == 404


async def test_health_routes(rig: GatewayRig) -> None:
    assert (await _page(rig, "/healthz"))[0] == 200
    status, body = await _page(rig, "/readyz")
    assert status == 200
    assert '"database": "ok"' in body
    assert '"broker": "ok"' in body
    status, body = await _page(rig, "/metrics")
    assert status == 200
    assert "outbox_events_relayed_total" in body
