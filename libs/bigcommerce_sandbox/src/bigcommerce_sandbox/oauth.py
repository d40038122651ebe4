"""Single-click app OAuth: codes, token exchange, tokens, signed_payload_jwt, uninstall."""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import jwt

from bigcommerce_sandbox.clock import UnixClock
from bigcommerce_sandbox.data import SandboxData
from bigcommerce_sandbox.errors import SandboxError
from bigcommerce_sandbox.models import AuthCode, CallbackCall, Token

# Granted with every token although the app never asks for them (seen in real responses).
IMPLICIT_SCOPES = ("store_v2_default", "users_basic_information")

# The docs' own example puts nbf 5 s before iat (reference §2.1).
NBF_SKEW_S = 5
JWT_LIFETIME_S = 24 * 3600


@dataclass(frozen=True)
class AuthCallback:
    """What the merchant's browser brings to the app's auth callback after Confirm."""

    code: str
    scope: str
    context: str
    account_uuid: str
    query: dict[str, str]
    url: str


class OAuthError(Exception):
    """A refused token request; rendered as `{"error": ..., "error_description": ...}`.

    BigCommerce's error shape is undocumented (reference §1.2), so the sandbox uses the
    RFC 6749 one.
    """

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


def granted_scope(scopes: Sequence[str]) -> tuple[str, ...]:
    """The requested scopes plus the implicit extras, without duplicates."""
    return tuple(dict.fromkeys([*scopes, *IMPLICIT_SCOPES]))


def issue_token(sandbox: SandboxData, store_hash: str, scopes: Sequence[str]) -> str:
    """Mint a token for a store; the store counts as installed from then on."""
    store = sandbox.store(store_hash)
    store.installed = True
    value = secrets.token_hex(16)
    sandbox.tokens[value] = Token(
        value=value,
        store_hash=store_hash,
        client_id=sandbox.config.client_id,
        scopes=frozenset(granted_scope(scopes)),
    )
    return value


def authorize(
    sandbox: SandboxData,
    store_hash: str,
    *,
    scopes: Sequence[str] | None = None,
    user_id: int | None = None,
) -> AuthCallback:
    """Install (or re-approve) the app for a store and issue a one-time code."""
    store = sandbox.store(store_hash)
    user = store.user(user_id) if user_id is not None else store.owner
    if user is None:
        raise SandboxError(f"no user {user_id} in store {store_hash}")
    scope_list = granted_scope(scopes if scopes is not None else sandbox.config.scopes)
    code = secrets.token_urlsafe(12)
    sandbox.codes[code] = AuthCode(
        code=code,
        store_hash=store_hash,
        scopes=scope_list,
        user_id=user.id,
        issued_at=sandbox.clock(),
    )
    store.installed = True
    query = {
        "account_uuid": sandbox.config.account_uuid,
        "code": code,
        "context": f"stores/{store_hash}",
        "scope": " ".join(scope_list),
    }
    # urlencode writes spaces as "+" and "/" as "%2F", as BigCommerce's redirect does.
    url = f"{sandbox.config.auth_callback_url}?{urlencode(query)}"
    return AuthCallback(
        code=code,
        scope=query["scope"],
        context=query["context"],
        account_uuid=query["account_uuid"],
        query=query,
        url=url,
    )


def exchange_code(sandbox: SandboxData, fields: Mapping[str, str]) -> dict[str, Any]:
    """Validate a `POST /oauth2/token` request and return the token response.

    Raises:
        OAuthError: bad client credentials (401) or a bad grant (400).
    """
    config = sandbox.config
    client_ok = hmac.compare_digest(fields.get("client_id", ""), config.client_id)
    secret_ok = hmac.compare_digest(fields.get("client_secret", ""), config.client_secret)
    if not (client_ok and secret_ok):
        raise OAuthError(401, "invalid_client", "Invalid client_id or client_secret.")
    if fields.get("grant_type") != "authorization_code":
        raise OAuthError(400, "unsupported_grant_type", "grant_type must be authorization_code.")
    for name in ("code", "context", "redirect_uri"):
        if not fields.get(name):
            raise OAuthError(400, "invalid_request", f"The {name} parameter is required.")
    code = sandbox.codes.get(fields["code"])
    if code is None or code.used:
        raise OAuthError(400, "invalid_grant", "The authorization code is invalid or was used.")
    if sandbox.clock() > code.issued_at + sandbox.code_ttl_s:
        raise OAuthError(400, "invalid_grant", "The authorization code has expired.")
    if fields["context"] != f"stores/{code.store_hash}":
        raise OAuthError(400, "invalid_grant", "The context does not match the code.")
    if fields["redirect_uri"] != config.auth_callback_url:
        raise OAuthError(400, "invalid_grant", "The redirect_uri does not match the app's.")
    code.used = True
    store = sandbox.store(code.store_hash)
    user = store.user(code.user_id) or store.owner
    # A new grant replaces the store's earlier tokens, as a re-approval does (reference §1.3).
    revoke_tokens(sandbox, code.store_hash)
    token = issue_token(sandbox, code.store_hash, code.scopes)
    body: dict[str, Any] = {
        "access_token": token,
        "scope": " ".join(code.scopes),
        "user": {"id": user.id, "username": user.username, "email": user.email},
        "owner": {"id": store.owner.id, "username": store.owner.username, "email": store.owner.email},
        "context": f"stores/{code.store_hash}",
        "account_uuid": config.account_uuid,
    }
    if sandbox.legacy_token_response:
        del body["owner"], body["account_uuid"]
    return body


def signed_payload(
    sandbox: SandboxData, store_hash: str, *, user_id: int | None = None, **overrides: Any
) -> str:
    """A `signed_payload_jwt` (HS256 with the client secret); claims can be overridden."""
    store = sandbox.store(store_hash)
    user = store.user(user_id) if user_id is not None else store.owner
    if user is None:
        raise SandboxError(f"no user {user_id} in store {store_hash}")
    iat = int(sandbox.clock())
    nbf = iat - NBF_SKEW_S
    claims: dict[str, Any] = {
        "aud": sandbox.config.client_id,
        "iss": "bc",
        "iat": iat,
        "nbf": nbf,
        "exp": nbf + JWT_LIFETIME_S,
        "jti": str(uuid.uuid4()),
        "sub": f"stores/{store_hash}",
        "user": {"id": user.id, "email": user.email, "locale": user.locale},
        "owner": {"id": store.owner.id, "email": store.owner.email},
        "url": "/",
        "channel_id": None,
    }
    claims.update(overrides)
    return jwt.encode(claims, sandbox.config.client_secret, algorithm="HS256")


def revoke_tokens(sandbox: SandboxData, store_hash: str) -> int:
    """Mark every live token of a store revoked; returns how many."""
    live = [t for t in sandbox.tokens.values() if t.store_hash == store_hash and not t.revoked]
    for token in live:
        token.revoked = True
    return len(live)


def uninstall(sandbox: SandboxData, store_hash: str) -> str:
    """Uninstall the app from a store and return the JWT for the uninstall callback."""
    store = sandbox.store(store_hash)
    payload = signed_payload(sandbox, store_hash)
    store.installed = False
    revoke_tokens(sandbox, store_hash)
    # BigCommerce deletes all of an app's hooks on uninstall (reference §8.1).
    for hook in sandbox.hooks_for(store_hash, sandbox.config.client_id):
        del sandbox.hooks[hook.id]
    return payload


async def call_callback(
    session: aiohttp.ClientSession, url: str, jwt_token: str, clock: UnixClock
) -> CallbackCall:
    """GET an app callback with `signed_payload_jwt`; any failure is recorded, not raised."""
    at = clock()
    if not url:
        return CallbackCall(url=url, status=None, error="no callback URL registered", at=at)
    try:
        async with session.get(url, params={"signed_payload_jwt": jwt_token}) as response:
            await response.read()
            return CallbackCall(url=url, status=response.status, error=None, at=at)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return CallbackCall(url=url, status=None, error=type(exc).__name__, at=at)
