"""The authorization-code exchange against a fake login service."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from common.bigcommerce import OAuthExchangeError, exchange_code

from .conftest import RequestLog, Serve

SECRET = "client-secret-xyz"
CODE = "qr6h3thvbvag2ffq"
GRANT = {
    "access_token": "xxxxalphanumstringxxxx",
    "scope": "store_v2_orders store_v2_information_read_only store_v2_default users_basic_information",
    "user": {"id": 24654, "username": "merchant@example.com", "email": "merchant@example.com"},
    "owner": {"id": 12345, "username": "owner@example.com", "email": "owner@example.com"},
    "context": "stores/g5cd38",
    "account_uuid": "12345678-90ab-cdef-1234-567890abcdef",
}


def login_app(log: RequestLog, status: int, body: Any) -> web.Application:
    async def token(request: web.Request) -> web.Response:
        await log.note(request)
        if isinstance(body, str):
            return web.Response(status=status, text=body)
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_post("/oauth2/token", token)
    return app


async def exchange(session: Any, url: str) -> Any:
    return await exchange_code(
        session,
        login_url=url,
        client_id="client-id-1",
        client_secret=SECRET,
        code=CODE,
        scope="store_v2_orders store_v2_information_read_only",
        context="stores/g5cd38",
        redirect_uri="https://gateway.example/bigcommerce/auth",
    )


async def test_the_code_is_exchanged_for_a_grant(serve: Serve, session: Any, request_log: RequestLog) -> None:
    url = await serve(login_app(request_log, 200, GRANT))

    grant = await exchange(session, url)

    [sent] = request_log.seen
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Accept"] == "application/json"
    assert sent.body == {
        "client_id": "client-id-1",
        "client_secret": SECRET,
        "code": CODE,
        "context": "stores/g5cd38",
        "scope": "store_v2_orders store_v2_information_read_only",
        "grant_type": "authorization_code",
        "redirect_uri": "https://gateway.example/bigcommerce/auth",
    }
    assert grant.store_hash == "g5cd38"
    assert grant.access_token.get_secret_value() == "xxxxalphanumstringxxxx"
    assert {"store_v2_orders", "store_v2_information_read_only"} <= grant.scope
    assert grant.owner is not None
    assert grant.owner.id == 12345
    assert "xxxxalphanumstringxxxx" not in repr(grant)


async def test_an_old_style_grant_without_owner_or_account_is_accepted(
    serve: Serve, session: Any, request_log: RequestLog
) -> None:
    old = {k: v for k, v in GRANT.items() if k not in ("owner", "account_uuid")}
    url = await serve(login_app(request_log, 200, old))

    grant = await exchange(session, url)

    assert grant.owner is None
    assert grant.account_uuid is None


async def test_a_grant_without_context_or_scope_is_for_what_was_asked(
    serve: Serve, session: Any, request_log: RequestLog
) -> None:
    minimal = {k: v for k, v in GRANT.items() if k not in ("context", "scope")}
    url = await serve(login_app(request_log, 201, minimal))

    grant = await exchange(session, url)

    assert grant.store_hash == "g5cd38"
    assert grant.scope == {"store_v2_orders", "store_v2_information_read_only"}


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (400, {"error": "invalid_grant", "error_description": "The code has expired"}, "expired"),
        (401, [{"status": 401, "message": "Invalid client_secret " + SECRET}], "Invalid client_secret"),
        (500, "<html>Oops</html>", "Oops"),
        (200, {"access_token": "x"}, "unexpected token response"),
        (200, "not json at all", "not JSON"),
    ],
)
async def test_a_refused_exchange_names_the_reason_but_never_the_secret(
    serve: Serve, session: Any, request_log: RequestLog, status: int, body: Any, message: str
) -> None:
    url = await serve(login_app(request_log, status, body))

    with pytest.raises(OAuthExchangeError) as raised:
        await exchange(session, url)

    assert message in str(raised.value)
    assert SECRET not in str(raised.value)
    assert raised.value.status == status
    assert raised.value.store_hash == "g5cd38"


async def test_an_unreachable_login_service_is_an_exchange_error(session: Any) -> None:
    with pytest.raises(OAuthExchangeError, match="could not reach"):
        await exchange(session, "http://127.0.0.1:9")
