"""load, uninstall and remove-user callbacks: verified JWTs only, no state change otherwise."""

from __future__ import annotations

import time

import jwt
import pytest
from auth_gateway.webhook_registration import WEBHOOK_HEADER
from yarl import URL

from tests.support.auth_gateway import CLIENT_ID, CLIENT_SECRET, GatewayRig


def forged(rig: GatewayRig, store_hash: str, kind: str) -> str:
    """A token that must be refused; signed with the right secret unless the kind says otherwise."""
    now = int(time.time())
    good = jwt.decode(rig.sandbox.signed_payload(store_hash), options={"verify_signature": False})
    if kind == "wrong key":
        return jwt.encode(good, "x" * 64, algorithm="HS256")
    if kind == "alg none":
        return jwt.encode(good, None, algorithm="none")
    if kind == "HS512":
        return jwt.encode(good, CLIENT_SECRET + "x" * 30, algorithm="HS512")
    changes = {
        "expired": {"exp": now - 3600},
        "not yet valid": {"nbf": now + 3600},
        "wrong audience": {"aud": "another-app"},
        "malformed sub": {"sub": f"store/{store_hash}"},
    }[kind]
    return rig.sandbox.signed_payload(store_hash, **changes)


async def launch_holders(rig: GatewayRig, channel_id: object) -> set[int]:
    """The users holding an unused launch link of the channel (remove-user ends a user's)."""
    rows = await rig.pool.fetch("SELECT user_id FROM launch_tokens WHERE channel_id = $1", channel_id)
    return {row["user_id"] for row in rows}


KINDS = ["wrong key", "alg none", "HS512", "expired", "not yet valid", "wrong audience", "malformed sub"]


@pytest.mark.parametrize("kind", KINDS)
async def test_forged_jwts_are_refused_without_state_change(rig: GatewayRig, kind: str) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    before = await rig.channel_row(store.hash)
    for name in ("load", "uninstall", "remove-user"):
        response = await rig.callback(name, forged(rig, store.hash, kind))
        assert response.status == 401, (name, kind)
    after = await rig.channel_row(store.hash)
    assert after == before
    launches = await rig.pool.fetchval("SELECT count(*) FROM launch_tokens WHERE channel_id = $1", channel_id)
    assert launches == 1  # the installer's, untouched by the forged remove-user


async def test_unknown_store_cannot_load_but_is_uninstalled_already(rig: GatewayRig) -> None:
    store = rig.create_store()
    assert (await rig.callback("load", rig.sandbox.signed_payload(store.hash))).status == 403
    # server-to-server notifications: the store is in the state asked for, so they succeed
    for name in ("uninstall", "remove-user"):
        response = await rig.callback(name, rig.sandbox.signed_payload(store.hash))
        assert response.status == 204
    assert await rig.channel_row(store.hash) is None


async def test_missing_jwt_is_unauthorized(rig: GatewayRig) -> None:
    async with rig.http.get(f"{rig.base_url}/bigcommerce/load") as response:
        assert response.status == 401
        assert "signed_payload_jwt is missing" in await response.text()


async def test_load_redirects_to_settings_and_restores_the_hook(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    hook = rig.sandbox.hooks_for(store.hash)[0]
    hook.is_active = False  # BigCommerce deactivated it after failed deliveries
    user = rig.sandbox.add_user(store.hash, "staff@example.com")

    response = await rig.callback("load", rig.sandbox.signed_payload(store.hash, user_id=user.id))
    assert response.status == 302
    location = URL(response.headers["Location"])
    assert (
        str(location.with_query(None)) == f"{rig.settings.clickdrop_app_url}/channels/{channel_id}/settings"
    )
    assert set(location.query) == {"launch"}
    assert rig.sandbox.hooks_for(store.hash)[0].is_active
    assert await launch_holders(rig, channel_id) == {store.owner.id, user.id}

    call = await rig.sandbox.remove_user(store.hash, user.id)
    assert call.status == 204
    assert await launch_holders(rig, channel_id) == {store.owner.id}


async def test_load_recreates_a_deleted_hook_with_the_stored_secret(rig: GatewayRig) -> None:
    store = rig.create_store()
    await rig.active_channel(store.hash)
    secret = rig.sandbox.hooks_for(store.hash)[0].headers[WEBHOOK_HEADER]
    rig.sandbox.hooks.clear()
    assert (await rig.callback("load", rig.sandbox.signed_payload(store.hash))).status == 302
    hooks = rig.sandbox.hooks_for(store.hash)
    assert [h.headers[WEBHOOK_HEADER] for h in hooks] == [secret]


async def test_load_of_an_uninstalled_store_opens_its_page_saying_to_install_again(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    payload = rig.sandbox.signed_payload(store.hash)
    await rig.sandbox.uninstall_and_notify(store.hash)
    response = await rig.callback("load", payload)
    assert response.status == 302
    launch = URL(response.headers["Location"]).query["launch"]
    async with rig.browser() as browser:
        await rig.open_settings(browser, channel_id, launch)
        async with browser.get(f"{rig.base_url}/channels/{channel_id}/settings") as page:
            html = await page.text()
    assert "install the app again in BigCommerce" in html
    assert "Update and activate</button>" not in html  # it would be refused


async def test_uninstall_twice_is_harmless(rig: GatewayRig) -> None:
    store = rig.create_store()
    await rig.active_channel(store.hash)
    assert (await rig.callback("uninstall", rig.sandbox.signed_payload(store.hash))).status == 204
    assert (await rig.callback("uninstall", rig.sandbox.signed_payload(store.hash))).status == 204
    events = await rig.pool.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'ChannelDisconnected'")
    assert events == 1


def minimal_jwt(store_hash: str, **claims: object) -> str:
    """Only what CONTRACT §4 checks: no iat, jti, owner, url or channel_id."""
    now = int(time.time())
    payload = {"aud": CLIENT_ID, "iss": "bc", "nbf": now, "exp": now + 600, "sub": f"stores/{store_hash}"}
    return jwt.encode({**payload, **claims}, CLIENT_SECRET, algorithm="HS256")


async def test_minimal_jwts_are_enough(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    response = await rig.callback("load", minimal_jwt(store.hash))
    assert response.status == 302
    assert f"/channels/{channel_id}/settings?launch=" in response.headers["Location"]
    # without a jti the whole token is what is used up: a second token must differ from the first
    response = await rig.callback("uninstall", minimal_jwt(store.hash, url="/uninstall"))
    assert response.status == 204
    row = await rig.channel_row(store.hash)
    assert row is not None
    assert (row["status"], row["access_token_encrypted"]) == ("disconnected", None)


async def test_remove_user_under_either_spelling_needs_a_user(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    staff = rig.sandbox.add_user(store.hash, "staff@example.com")
    assert (
        await rig.callback("load", rig.sandbox.signed_payload(store.hash, user_id=staff.id))
    ).status == 302

    assert (await rig.callback("remove-user", minimal_jwt(store.hash))).status == 400  # names nobody
    user = {"id": str(staff.id), "email": "staff@example.com"}  # an id as a decimal string
    assert (await rig.callback("remove_user", minimal_jwt(store.hash, user=user))).status == 204
    assert await launch_holders(rig, channel_id) == {store.owner.id}
