"""Contract tests for the token exchange, signed_payload_jwt, uninstall and revocation."""

from __future__ import annotations

from typing import Any

import aiohttp
import jwt
import pytest
from bigcommerce_sandbox import AppConfig, ManualClock, Sandbox, Store, run_sandbox

from .conftest import APP, Receiver


def exchange_fields(sandbox: Sandbox, code: str, context: str, **overrides: str) -> dict[str, str]:
    return {
        "client_id": APP.client_id,
        "client_secret": APP.client_secret,
        "code": code,
        "context": context,
        "scope": "store_v2_orders store_v2_information_read_only",
        "grant_type": "authorization_code",
        "redirect_uri": APP.auth_callback_url,
        **overrides,
    }


async def exchange(
    http: aiohttp.ClientSession, sandbox: Sandbox, fields: dict[str, str], *, form: bool = False
) -> tuple[int, Any]:
    kwargs: dict[str, Any] = {"data": fields} if form else {"json": fields}
    async with http.post(f"{sandbox.login_url}/oauth2/token", **kwargs) as resp:
        return resp.status, await resp.json()


async def test_exchange_returns_the_documented_body(
    sandbox: Sandbox, store: Store, http: aiohttp.ClientSession
) -> None:
    callback = sandbox.authorize(store.hash)
    status, body = await exchange(http, sandbox, exchange_fields(sandbox, callback.code, callback.context))
    assert status == 200
    assert body["context"] == "stores/abc123"
    assert body["account_uuid"] == APP.account_uuid
    assert body["user"] == {
        "id": store.owner.id,
        "username": "owner@example.com",
        "email": "owner@example.com",
    }
    assert body["owner"]["id"] == store.owner.id
    scopes = body["scope"].split(" ")
    assert {
        "store_v2_orders",
        "store_v2_information_read_only",
        "store_v2_default",
        "users_basic_information",
    } <= set(scopes)
    async with http.get(
        f"{sandbox.api_url}/stores/abc123/v2/orders/count", headers={"X-Auth-Token": body["access_token"]}
    ) as resp:
        assert resp.status == 200


async def test_legacy_token_responses_lack_owner_and_account_uuid(
    sandbox: Sandbox, store: Store, http: aiohttp.ClientSession
) -> None:
    sandbox.legacy_token_response = True
    callback = sandbox.authorize(store.hash)
    status, body = await exchange(http, sandbox, exchange_fields(sandbox, callback.code, callback.context))
    assert status == 200
    assert "owner" not in body
    assert "account_uuid" not in body
    assert body["user"]["id"] == store.owner.id


async def test_the_callback_query_is_space_separated_and_plus_encoded(sandbox: Sandbox, store: Store) -> None:
    callback = sandbox.authorize(store.hash)
    assert callback.url.startswith(APP.auth_callback_url + "?")
    assert "context=stores%2Fabc123" in callback.url
    assert "scope=store_v2_orders+store_v2_information_read_only+" in callback.url
    assert callback.query["scope"] == callback.scope
    assert " " in callback.scope


async def test_form_encoded_exchange_works_too(
    sandbox: Sandbox, store: Store, http: aiohttp.ClientSession
) -> None:
    callback = sandbox.authorize(store.hash)
    status, body = await exchange(
        http, sandbox, exchange_fields(sandbox, callback.code, callback.context), form=True
    )
    assert status == 200
    assert body["access_token"]


async def test_a_code_works_once(sandbox: Sandbox, store: Store, http: aiohttp.ClientSession) -> None:
    callback = sandbox.authorize(store.hash)
    fields = exchange_fields(sandbox, callback.code, callback.context)
    assert (await exchange(http, sandbox, fields))[0] == 200
    status, body = await exchange(http, sandbox, fields)
    assert status == 400
    assert body["error"] == "invalid_grant"


async def test_a_code_expires(
    sandbox: Sandbox, store: Store, clock: ManualClock, http: aiohttp.ClientSession
) -> None:
    callback = sandbox.authorize(store.hash)
    clock.advance(sandbox.code_ttl_s + 1)
    status, body = await exchange(http, sandbox, exchange_fields(sandbox, callback.code, callback.context))
    assert status == 400
    assert body["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("override", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "someone-else"}, 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, 400, "unsupported_grant_type"),
        ({"redirect_uri": "https://app.example.com/bigcommerce/auth/"}, 400, "invalid_grant"),
        ({"context": "stores/zzz999"}, 400, "invalid_grant"),
        ({"code": "made-up"}, 400, "invalid_grant"),
    ],
)
async def test_refusals(
    sandbox: Sandbox,
    store: Store,
    http: aiohttp.ClientSession,
    override: dict[str, str],
    status: int,
    error: str,
) -> None:
    callback = sandbox.authorize(store.hash)
    fields = {**exchange_fields(sandbox, callback.code, callback.context), **override}
    got_status, body = await exchange(http, sandbox, fields)
    assert (got_status, body["error"]) == (status, error)
    assert body["error_description"]


async def test_a_new_grant_replaces_the_old_token(
    sandbox: Sandbox, store: Store, http: aiohttp.ClientSession
) -> None:
    old = sandbox.issue_token(store.hash)
    callback = sandbox.authorize(store.hash)
    _, body = await exchange(http, sandbox, exchange_fields(sandbox, callback.code, callback.context))
    url = f"{sandbox.api_url}/stores/abc123/v2/time"
    async with http.get(url, headers={"X-Auth-Token": old}) as resp:
        assert resp.status == 401
    async with http.get(url, headers={"X-Auth-Token": body["access_token"]}) as resp:
        assert resp.status == 200


async def test_installer_may_be_a_non_owner(
    sandbox: Sandbox, store: Store, http: aiohttp.ClientSession
) -> None:
    staff = sandbox.add_user(store.hash, "staff@example.com")
    callback = sandbox.authorize(store.hash, user_id=staff.id)
    _, body = await exchange(http, sandbox, exchange_fields(sandbox, callback.code, callback.context))
    assert body["user"]["email"] == "staff@example.com"
    assert body["owner"]["email"] == "owner@example.com"


def test_signed_payload_claims_verify_with_pyjwt(sandbox: Sandbox, store: Store, clock: ManualClock) -> None:
    token = sandbox.signed_payload(store.hash)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(
        token,
        APP.client_secret,
        algorithms=["HS256"],
        audience=APP.client_id,
        issuer="bc",
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    now = int(clock())
    assert claims["iat"] == now
    assert claims["nbf"] == now - 5
    assert claims["exp"] == claims["nbf"] + 24 * 3600
    assert claims["sub"] == "stores/abc123"
    assert claims["user"] == {"id": store.owner.id, "email": "owner@example.com", "locale": "en-GB"}
    assert claims["owner"] == {"id": store.owner.id, "email": "owner@example.com"}
    assert claims["url"] == "/"
    assert claims["channel_id"] is None
    assert len(claims["jti"]) == 36
    assert sandbox.signed_payload(store.hash) != token  # a fresh jti every time
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            token,
            "another-app-client-secret-0123456789abcdef",
            algorithms=["HS256"],
            audience=APP.client_id,
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )


def test_claims_can_be_overridden_for_negative_tests(sandbox: Sandbox, store: Store) -> None:
    token = sandbox.signed_payload(store.hash, aud="someone-else", sub="stores/zzz")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == "someone-else"
    assert claims["sub"] == "stores/zzz"


async def test_uninstall_revokes_tokens_and_deletes_hooks(
    sandbox: Sandbox, store: Store, token: str, http: aiohttp.ClientSession
) -> None:
    sandbox.create_hook(store.hash, "store/order/statusUpdated", "https://app.example.com/wh")
    other_app = sandbox.create_hook(
        store.hash, "store/order/created", "https://x.example.com/", client_id="other-app"
    )
    payload = sandbox.uninstall(store.hash)
    claims = jwt.decode(
        payload,
        APP.client_secret,
        algorithms=["HS256"],
        audience=APP.client_id,
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    assert claims["sub"] == "stores/abc123"
    assert sandbox.hooks_for(store.hash) == [other_app]
    assert store.installed is False
    async with http.get(f"{sandbox.api_url}/stores/abc123/v2/time", headers={"X-Auth-Token": token}) as resp:
        assert resp.status == 401


async def test_uninstall_calls_the_apps_uninstall_callback(receiver: Receiver) -> None:
    app = AppConfig.for_base_url(receiver.url, "cid", "receiver-app-client-secret-0123456789abcdef")
    async with run_sandbox(app=app) as sandbox:
        sandbox.create_store("un1")
        sandbox.issue_token("un1")
        call = await sandbox.uninstall_and_notify("un1")
    assert call.status == 200
    (request,) = receiver.requests
    assert request.method == "GET"
    assert request.path == "/bigcommerce/uninstall"
    claims = jwt.decode(
        request.query["signed_payload_jwt"],
        "receiver-app-client-secret-0123456789abcdef",
        algorithms=["HS256"],
        audience="cid",
        leeway=30,
    )
    assert claims["sub"] == "stores/un1"


async def test_remove_user_calls_its_callback(receiver: Receiver) -> None:
    app = AppConfig.for_base_url(receiver.url, "cid", "receiver-app-client-secret-0123456789abcdef")
    async with run_sandbox(app=app) as sandbox:
        sandbox.create_store("ru1")
        staff = sandbox.add_user("ru1", "staff@example.com")
        call = await sandbox.remove_user("ru1", staff.id)
    assert call.status == 200
    (request,) = receiver.requests
    assert request.path == "/bigcommerce/remove-user"
    claims = jwt.decode(request.query["signed_payload_jwt"], options={"verify_signature": False})
    assert claims["user"]["email"] == "staff@example.com"
