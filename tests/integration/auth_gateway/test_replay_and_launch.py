"""One-shot callbacks and launch tokens (CONTRACT §4): a JWT authorises one callback, a launch token one redemption."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest
from yarl import URL

from tests.support.auth_gateway import GatewayRig, gateway_settings, serve_gateway
from tests.support.waiting import free_port

CALLBACKS = ["load", "uninstall", "remove-user"]
LINK = re.compile(r'<a href="([^"]+)"[^>]*>Check your settings')


async def state(rig: GatewayRig, store_hash: str) -> dict[str, Any]:
    """Everything a callback could change, to compare before and after a replay."""
    row = await rig.channel_row(store_hash)
    channel_id = row["id"] if row else None
    return {
        "channel": dict(row) if row else None,
        "launch_holders": sorted(
            r["user_id"]
            for r in await rig.pool.fetch(
                "SELECT user_id FROM launch_tokens WHERE channel_id = $1", channel_id
            )
        ),
        "launches": await rig.pool.fetchval("SELECT count(*) FROM launch_tokens"),
        "sessions": await rig.pool.fetchval("SELECT count(*) FROM settings_sessions"),
        "events": await rig.pool.fetchval("SELECT count(*) FROM outbox"),
    }


@pytest.mark.parametrize(("first", "replayed_to"), [(a, b) for a in CALLBACKS for b in CALLBACKS])
async def test_a_jwt_is_good_for_one_callback_only(rig: GatewayRig, first: str, replayed_to: str) -> None:
    store = rig.create_store()
    await rig.active_channel(store.hash)
    staff = rig.sandbox.add_user(store.hash, "staff@example.com")
    # a staff member's Launch JWT travels in a URL: browser history, proxy logs
    token = rig.sandbox.signed_payload(store.hash, user_id=staff.id)
    assert (await rig.callback(first, token)).status in (204, 302)
    before = await state(rig, store.hash)

    replay = await rig.callback(replayed_to, token)

    assert replay.status == 401
    assert "already used" in await _text(rig, replayed_to, token)
    assert await state(rig, store.hash) == before


async def test_a_remove_user_jwt_naming_no_user_is_refused_and_used_up(rig: GatewayRig) -> None:
    store = rig.create_store()
    await rig.active_channel(store.hash)
    token = rig.sandbox.signed_payload(store.hash, user=None)

    assert (await rig.callback("remove-user", token)).status == 400
    # used once already, even though it named nobody: its replay anywhere is a replay
    assert (await rig.callback("load", token)).status == 401
    assert (await rig.callback("remove-user", token)).status == 401


async def _text(rig: GatewayRig, name: str, token: str) -> str:
    async with rig.http.get(f"{rig.base_url}/bigcommerce/{name}", params={"signed_payload_jwt": token}) as r:
        return await r.text()


async def test_a_jwt_used_on_one_replica_is_refused_by_every_other(rig: GatewayRig) -> None:
    store = rig.create_store()
    await rig.active_channel(store.hash)
    port = free_port()
    other = gateway_settings(
        database_url=rig.settings.database_url.get_secret_value(),
        amqp_url=rig.settings.amqp_url.get_secret_value(),
        exchange=rig.settings.amqp_exchange,
        sandbox=rig.sandbox,
        port=port,
        token_encryption_keys=rig.settings.token_encryption_keys,
    )
    token = rig.sandbox.signed_payload(store.hash)
    async with serve_gateway(other):
        assert (await rig.callback("load", token)).status == 302
        url = f"http://127.0.0.1:{port}/bigcommerce/uninstall"
        async with rig.http.get(url, params={"signed_payload_jwt": token}) as response:
            assert response.status == 401
    row = await rig.channel_row(store.hash)
    assert row is not None
    assert row["status"] == "active"


async def test_an_uninstall_older_than_the_latest_install_changes_nothing(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    # issued a minute ago, before the reinstall below: about a grant that no longer exists
    stale = rig.sandbox.signed_payload(store.hash, iat=int(time.time()) - 60)
    assert (await rig.install(store.hash)).status == 200
    before = await state(rig, store.hash)

    assert (await rig.callback("uninstall", stale)).status == 204

    assert await state(rig, store.hash) == before
    assert before["channel"]["status"] == "active"
    # an uninstall issued after the install still disconnects
    assert (await rig.callback("uninstall", rig.sandbox.signed_payload(store.hash))).status == 204
    row = await rig.channel_row(store.hash)
    assert row is not None
    assert (row["id"], row["status"], row["access_token_encrypted"]) == (channel_id, "disconnected", None)


async def test_a_launch_token_names_channel_and_user_and_is_redeemed_once(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    staff = rig.sandbox.add_user(store.hash, "staff@example.com")
    launched_id, token = await rig.launch(store.hash, user_id=staff.id)
    assert launched_id == channel_id

    status, body, _ = await rig.api("POST", f"/api/v1/launches/{token}")
    assert status == 200
    assert body == {
        "channel_id": str(channel_id),
        "store_hash": store.hash,
        "user_id": staff.id,
        "user_email": "staff@example.com",
        "is_owner": False,
    }

    status, body, response = await rig.api("POST", f"/api/v1/launches/{token}")
    assert status == 404
    assert response.content_type == "application/problem+json"
    # the owner's launch says so
    _, owner_token = await rig.launch(store.hash)
    status, body, _ = await rig.api("POST", f"/api/v1/launches/{owner_token}")
    assert (status, body["user_id"], body["is_owner"]) == (200, store.owner.id, True)


async def test_expired_unknown_and_unauthenticated_redemptions_are_refused(rig: GatewayRig) -> None:
    store = rig.create_store()
    await rig.active_channel(store.hash)
    _, token = await rig.launch(store.hash)
    _, other = await rig.launch(store.hash)
    # five minutes pass on the clock that stamped it (PostgreSQL's)
    await rig.pool.execute("UPDATE launch_tokens SET expires_at = now() - interval '1 second'")

    assert (await rig.api("POST", f"/api/v1/launches/{token}"))[0] == 404
    assert (await rig.api("POST", "/api/v1/launches/never-issued-0123456789"))[0] == 404
    assert (await rig.api("POST", "/api/v1/launches/" + "x" * 500))[0] == 404
    assert (await rig.api("POST", f"/api/v1/launches/{other}", token=None))[0] == 401


async def test_a_launch_lives_five_minutes(rig: GatewayRig) -> None:
    store = rig.create_store()
    await rig.active_channel(store.hash)
    await rig.launch(store.hash)
    lifetime = await rig.pool.fetchval("SELECT expires_at - created_at FROM launch_tokens")
    assert lifetime.total_seconds() == 300


async def test_concurrent_redemptions_give_the_token_to_exactly_one(rig: GatewayRig) -> None:
    store = rig.create_store()
    await rig.active_channel(store.hash)
    _, token = await rig.launch(store.hash)
    results = await asyncio.gather(*(rig.api("POST", f"/api/v1/launches/{token}") for _ in range(6)))
    assert sorted(status for status, _, _ in results) == [200, 404, 404, 404, 404, 404]


async def test_the_app_installed_link_carries_a_launch_token_for_the_installer(rig: GatewayRig) -> None:
    store = rig.create_store()
    callback = rig.sandbox.authorize(store.hash)
    async with rig.http.get(callback.url) as response:
        assert response.status == 200
        link = LINK.search(await response.text())
    assert link is not None
    url = URL(link[1].replace("&amp;", "&"))
    row = await rig.channel_row(store.hash)
    assert row is not None
    assert url.path == f"/channels/{row['id']}/settings"
    status, body, _ = await rig.api("POST", f"/api/v1/launches/{url.query['launch']}")
    assert status == 200
    assert (body["user_id"], body["user_email"], body["is_owner"]) == (
        store.owner.id,
        store.owner.email,
        True,
    )


async def test_launch_tokens_are_stored_only_as_digests(rig: GatewayRig) -> None:
    store = rig.create_store()
    await rig.active_channel(store.hash)
    _, token = await rig.launch(store.hash)
    stored = await rig.pool.fetchval("SELECT token_sha256 FROM launch_tokens")
    assert token.encode() not in stored
    assert len(stored) == 32
