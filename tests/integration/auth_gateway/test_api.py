"""The internal API: bearer tokens, problem documents, all-or-nothing settings and channel operations."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from common.db.despatches import record_despatch
from common.events import OrderDespatched

from tests.support.auth_gateway import OTHER_API_TOKEN, GatewayRig

CONTRACT_FIELDS = {
    "id",
    "channel",
    "store_hash",
    "store_name",
    "trading_name",
    "country",
    "username",
    "connection_expires",
    "status",
    "mark_orders_as_despatched",
    "order_status_ids",
    "despatched_order_status",
    "last_download_at",
    "next_download_at",
    "last_writeback_at",
    "pending_despatches",
    "last_error",
}
# beyond the contract, added by issue 9: each direction's own error, so neither hides the other
SYNC_ERROR_FIELDS = {"last_download_error", "last_writeback_error"}
# beyond the contract's list, added by issue 11: whether activate reconnects a disconnected channel
RECONNECT_FIELDS = {"reconnectable"}


@pytest.mark.parametrize("token", [None, "wrong-token-0123456789", ""])
async def test_requests_without_a_valid_token_are_refused(rig: GatewayRig, token: str | None) -> None:
    status, body, response = await rig.api("GET", "/api/v1/channels", token=token)
    assert status == 401
    assert response.content_type == "application/problem+json"
    assert body["status"] == 401
    assert body["type"]
    assert body["title"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_every_configured_token_works(rig: GatewayRig) -> None:
    assert (await rig.api("GET", "/api/v1/channels", token=OTHER_API_TOKEN))[0] == 200


async def test_channel_has_exactly_the_contract_fields(rig: GatewayRig) -> None:
    store = rig.create_store(name="Tea Shop")
    channel_id = await rig.installed_channel(store.hash)
    status, body, _ = await rig.api("GET", "/api/v1/channels")
    assert status == 200
    [channel] = body  # a bare JSON array
    assert set(channel) == CONTRACT_FIELDS | SYNC_ERROR_FIELDS | RECONNECT_FIELDS
    assert channel["id"] == str(channel_id)
    assert (channel["channel"], channel["connection_expires"], channel["order_status_ids"]) == (
        "BigCommerce",
        None,
        [9],
    )
    assert (channel["mark_orders_as_despatched"], channel["despatched_order_status"]) == (True, "completed")
    assert (channel["store_name"], channel["username"]) == ("Tea Shop", store.owner.username)
    status, body, _ = await rig.api("GET", "/api/v1/channels?status=active")
    assert (status, body) == (200, [])


async def test_patch_is_all_or_nothing_and_names_the_field(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.installed_channel(store.hash)
    path = f"/api/v1/channels/{channel_id}"
    status, body, response = await rig.api(
        "PATCH", path, json={"trading_name": "New Name", "order_status_ids": [9, 99]}
    )
    assert status == 422
    assert response.content_type == "application/problem+json"
    assert [e["field"] for e in body["errors"]] == ["order_status_ids"]
    assert (await rig.channel_row(store.hash))["trading_name"] == ""  # type: ignore[index]

    status, body, _ = await rig.api("PATCH", path, json={"trading_name": "X", "colour": "red"})
    assert status == 422
    assert [e["field"] for e in body["errors"]] == ["colour"]
    assert (await rig.api("PATCH", path, json={}))[0] == 422
    assert (await rig.api("PATCH", path, data=b"{bad", headers={"Content-Type": "application/json"}))[
        0
    ] == 400
    # read as JSON whatever the Content-Type says (merge-patch, text/plain, none)
    for content_type in ("application/merge-patch+json", "text/plain", ""):
        status, body, _ = await rig.api(
            "PATCH", path, data=b'{"trading_name": "T"}', headers={"Content-Type": content_type}
        )
        assert (status, body["trading_name"]) == (200, "T"), content_type
    assert (await rig.api("PATCH", f"/api/v1/channels/{uuid.uuid4()}", json={"trading_name": "x"}))[0] == 404
    assert (await rig.api("PATCH", "/api/v1/channels/not-a-uuid", json={"trading_name": "x"}))[0] == 404


async def test_oversized_bodies_are_refused(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.installed_channel(store.hash)
    big = {"trading_name": "x" * (rig.settings.max_body_bytes + 10)}
    status, body, response = await rig.api("PATCH", f"/api/v1/channels/{channel_id}", json=big)
    assert status == 413
    assert response.content_type == "application/problem+json"
    assert body["status"] == 413


async def test_activate_with_body_updates_and_activates(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.installed_channel(store.hash)
    await rig.pool.execute("UPDATE channels SET store_name = '' WHERE id = $1", channel_id)
    status, body, _ = await rig.api("POST", f"/api/v1/channels/{channel_id}/activate")
    assert status == 409
    assert {e["field"] for e in body["errors"]} == {"trading_name", "store_name"}
    status, body, _ = await rig.api(
        "POST", f"/api/v1/channels/{channel_id}/activate", json={"trading_name": "T", "store_name": "S"}
    )
    assert (status, body["status"], body["trading_name"], body["store_name"]) == (200, "active", "T", "S")


async def test_sync_disconnect_and_delete(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.installed_channel(store.hash)
    base = f"/api/v1/channels/{channel_id}"
    assert (await rig.api("POST", f"{base}/sync"))[0] == 409  # pending
    await rig.api("POST", f"{base}/activate", json={"trading_name": "T"})
    await rig.pool.execute("UPDATE channels SET next_download_at = NULL WHERE id = $1", channel_id)
    status, body, _ = await rig.api("POST", f"{base}/sync")
    assert status == 202
    assert body["next_download_at"] is not None

    status, body, _ = await rig.api("POST", f"{base}/disconnect")
    assert (status, body["status"]) == (200, "disconnected")
    assert rig.sandbox.hooks_for(store.hash) == []  # removed while the token still worked
    assert (await rig.api("POST", f"{base}/sync"))[0] == 409

    assert (await rig.api("DELETE", base))[0] == 204
    assert await rig.channel_row(store.hash) is None
    assert (await rig.api("GET", base))[0] == 404


async def test_delete_of_connected_channel_disconnects_first(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    assert (await rig.api("DELETE", f"/api/v1/channels/{channel_id}"))[0] == 204
    events = await rig.pool.fetch("SELECT event_type FROM outbox ORDER BY id")
    assert [e["event_type"] for e in events][-1] == "ChannelDisconnected"
    assert rig.sandbox.hooks_for(store.hash) == []


async def test_despatches_list_and_retry(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    other_id = await rig.active_channel(rig.create_store().hash)
    event = OrderDespatched(
        channel_id=channel_id,
        store_hash=store.hash,
        order_id=101,
        despatched_at=datetime.now(UTC),
        tracking_number="TT123456785GB",
    )
    async with rig.pool.acquire() as conn:
        await record_despatch(conn, event)
    await rig.pool.execute("UPDATE despatches SET state = 'failed', reason = 'order not found'")
    base = f"/api/v1/channels/{channel_id}"

    status, body, _ = await rig.api("GET", f"{base}/despatches?state=failed")
    assert status == 200
    assert [(d["order_id"], d["reason"]) for d in body] == [(101, "order not found")]  # a bare array
    assert (await rig.api("GET", f"/api/v1/channels/{other_id}/despatches"))[1] == []
    assert (await rig.api("GET", f"{base}/despatches?state=bogus"))[0] == 422

    assert (await rig.api("POST", f"/api/v1/channels/{other_id}/despatches/101/retry"))[0] == 404
    status, body, _ = await rig.api("POST", f"{base}/despatches/101/retry")
    assert (status, body["queued"]) == (202, 1)
    assert (await rig.api("GET", base))[1]["pending_despatches"] == 1
    assert (await rig.api("POST", f"{base}/despatches/101/retry"))[0] == 404
    assert (await rig.api("POST", f"{base}/despatches/abc/retry"))[0] == 404


async def test_unknown_routes_and_methods_are_problems(rig: GatewayRig) -> None:
    status, body, response = await rig.api("GET", "/api/v1/nothing")
    assert status == 404
    assert response.content_type == "application/problem+json"
    status, body, response = await rig.api("PUT", "/api/v1/channels")
    assert status == 405
    assert body["status"] == 405


async def test_names_may_be_emptied_until_the_channel_is_active(rig: GatewayRig) -> None:
    store = rig.create_store(name="Tea Shop")
    channel_id = await rig.installed_channel(store.hash)
    path = f"/api/v1/channels/{channel_id}"
    status, body, _ = await rig.api("PATCH", path, json={"store_name": ""})
    assert (status, body["store_name"]) == (200, "")

    status, body, _ = await rig.api("POST", f"{path}/activate")
    assert status == 409
    assert {e["field"] for e in body["errors"]} == {"trading_name", "store_name"}
    assert "trading_name" in body["detail"]
    assert "store_name" in body["detail"]
    status, body, _ = await rig.api("POST", f"{path}/activate", json={"trading_name": "T", "store_name": ""})
    assert status == 409
    assert [e["field"] for e in body["errors"]] == ["store_name"]
    status, body, _ = await rig.api("POST", f"{path}/activate", json={"trading_name": "T", "store_name": "S"})
    assert (status, body["status"]) == (200, "active")

    # an active channel keeps its required names; the whole change is refused
    status, body, response = await rig.api(
        "PATCH", path, json={"trading_name": " ", "mark_orders_as_despatched": False}
    )
    assert status == 422
    assert response.content_type == "application/problem+json"
    assert [e["field"] for e in body["errors"]] == ["trading_name"]
    row = await rig.channel_row(store.hash)
    assert row is not None
    assert (row["trading_name"], row["mark_orders_as_despatched"]) == ("T", True)


async def test_channel_json_types_and_utc_timestamps(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    await rig.pool.execute(
        "UPDATE channels SET last_download_at = now(), last_writeback_at = now() WHERE id = $1", channel_id
    )
    status, body, response = await rig.api("GET", f"/api/v1/channels/{channel_id}")
    assert (status, response.content_type) == (200, "application/json")
    for field in ("last_download_at", "next_download_at", "last_writeback_at"):
        stamp = body[field]
        assert stamp.endswith("Z"), (field, stamp)
        assert datetime.fromisoformat(stamp).utcoffset() is not None
    assert isinstance(body["pending_despatches"], int)
    assert isinstance(body["mark_orders_as_despatched"], bool)
    assert body["last_error"] is None


async def test_download_and_writeback_errors_are_kept_apart_and_summed_up_in_last_error(
    rig: GatewayRig,
) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    await rig.pool.execute(
        "UPDATE channels SET last_download_error = 'BigCommerce unavailable, retrying next poll',"
        " last_writeback_error = 'order 7: BigCommerce refused the shipment' WHERE id = $1",
        channel_id,
    )
    _, body, _ = await rig.api("GET", f"/api/v1/channels/{channel_id}")
    assert body["last_download_error"] == "BigCommerce unavailable, retrying next poll"
    assert body["last_writeback_error"] == "order 7: BigCommerce refused the shipment"
    assert body["last_error"] == (
        "Download: BigCommerce unavailable, retrying next poll; "
        "Write-back: order 7: BigCommerce refused the shipment"
    )

    # a clean poll clears only its own error
    await rig.pool.execute("UPDATE channels SET last_download_error = NULL WHERE id = $1", channel_id)
    _, body, _ = await rig.api("GET", f"/api/v1/channels/{channel_id}")
    assert body["last_error"] == "Write-back: order 7: BigCommerce refused the shipment"
