"""BigCommerce's app callbacks: auth (install), load (open), uninstall and remove-user.

Each signed callback is one-shot (CONTRACT §4): its JWT is claimed in the same transaction as
its effect, so a replay to any callback gets 401 and changes nothing, on every replica.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from aiohttp import web
from common.db.channels import get_channel_by_store

from auth_gateway import operations
from auth_gateway.context import GATEWAY_KEY, Gateway
from auth_gateway.db.callback_jwts import claim_jwt
from auth_gateway.db.channel_writes import lock_channel_by_store
from auth_gateway.db.launches import LaunchUser, delete_user_launches
from auth_gateway.db.sessions import end_user_sessions
from auth_gateway.install import InstallError, install
from auth_gateway.jwt_verify import SignedPayload, SignedPayloadError, verify_signed_payload
from auth_gateway.launch import issue_launch
from auth_gateway.pages.errors import error_page
from auth_gateway.pages.installed import installed_page
from auth_gateway.webhook_registration import register_hook

log = structlog.get_logger(__name__)

# Launch of a store without a channel (deleted in Click & Drop): the app is installed in BigCommerce,
# so a new install has to start with an uninstall.
REINSTALL = (
    "To connect it, uninstall the Click & Drop app from the Apps menu of your BigCommerce control panel, "
    "then install it again."
)


async def auth(request: web.Request) -> web.Response:
    """`GET /bigcommerce/auth`: the browser arrives from BigCommerce's consent screen."""
    gateway = request.app[GATEWAY_KEY]
    query = request.query
    try:
        installed = await install(
            gateway,
            code=query.get("code", ""),
            scope=query.get("scope", ""),
            context=query.get("context", ""),
        )
    except InstallError as error:
        return error_page(error.status, error.title, error.message)
    # the install itself proved the user: the link carries a launch token for them
    settings_url = gateway.settings.channel_settings_url(installed.channel_id, installed.launch_token)
    return installed_page(settings_url, installed.status)


def _verified(request: web.Request) -> SignedPayload | web.Response:
    """The verified JWT, or the 401 page to answer."""
    settings = request.app[GATEWAY_KEY].settings
    try:
        return verify_signed_payload(
            request.query.get("signed_payload_jwt"),
            client_id=settings.bigcommerce_client_id,
            client_secret=settings.bigcommerce_client_secret.get_secret_value(),
            leeway_s=settings.jwt_leeway_seconds,
        )
    except SignedPayloadError as error:
        log.warning("signed_payload_refused", path=request.path, reason=str(error))
        return error_page(401, "Not signed by BigCommerce", f"This request could not be verified: {error}.")


def _replayed(request: web.Request, payload: SignedPayload) -> web.Response:
    log.warning("signed_payload_replayed", path=request.path, store_hash=payload.store_hash)
    return error_page(
        401, "Link already used", "This request was already used once. Open the app again from BigCommerce."
    )


async def load(request: web.Request) -> web.StreamResponse:
    """`GET /bigcommerce/load`: the merchant opened the app; send them on with a launch token."""
    payload = _verified(request)
    if isinstance(payload, web.Response):
        return payload
    gateway = request.app[GATEWAY_KEY]
    async with gateway.pool.acquire() as conn, conn.transaction():
        if not await claim_jwt(conn, payload.replay_key, payload.expires_at):
            return _replayed(request, payload)
        channel = await get_channel_by_store(conn, payload.store_hash)
        if channel is None:
            log.warning("callback_for_unknown_store", path=request.path, store_hash=payload.store_hash)
            return error_page(
                403, "Store not connected", f"This store is not connected to Click & Drop. {REINSTALL}"
            )
        # A disconnected channel opens too: its page says how to reconnect it ("Update and
        # activate" after "Disconnect Store", which leaves the app installed in BigCommerce).
        launch_token = await issue_launch(conn, channel.id, _launch_user(payload))
    if channel.status == "active":
        # BigCommerce deletes hooks on uninstall and deactivates them after failures
        await register_hook(gateway, channel.id)
    log.info("app_loaded", channel_id=str(channel.id), store_hash=channel.store_hash)
    raise web.HTTPFound(gateway.settings.channel_settings_url(channel.id, launch_token))


def _launch_user(payload: SignedPayload) -> LaunchUser:
    if payload.user is None:
        return LaunchUser(user_id=None, user_email="", is_owner=False)
    is_owner = payload.owner is not None and payload.owner.id == payload.user.id
    return LaunchUser(user_id=payload.user.id, user_email=payload.user.email, is_owner=is_owner)


async def uninstall(request: web.Request) -> web.Response:
    """`GET /bigcommerce/uninstall` (server to server): disconnect and erase the token.

    A store without a channel (deleted here) is already in the state asked for: 204 as well.
    An uninstall issued before the store's latest install (a stale or held-back JWT) is about
    a grant that no longer exists, so it changes nothing.
    """
    payload = _verified(request)
    if isinstance(payload, web.Response):
        return payload
    gateway = request.app[GATEWAY_KEY]
    async with gateway.pool.acquire() as conn, conn.transaction():
        if not await claim_jwt(conn, payload.replay_key, payload.expires_at):
            return _replayed(request, payload)
        locked = await lock_channel_by_store(conn, payload.store_hash)
        if locked is None:
            log.info("callback_for_unknown_store", path=request.path, store_hash=payload.store_hash)
            return web.Response(status=204)
        channel, installed_at = locked
        if _issued_before(payload, installed_at):
            log.warning(
                "uninstall_older_than_install", channel_id=str(channel.id), store_hash=channel.store_hash
            )
            return web.Response(status=204)
        changed = await operations.disconnect_locked(conn, channel, operations.UNINSTALLED, keep_grant=False)
    if changed:
        gateway.notify_outbox()
    log.info("app_uninstalled", channel_id=str(channel.id), store_hash=channel.store_hash, changed=changed)
    return web.Response(status=204)


def _issued_before(payload: SignedPayload, installed_at: datetime | None) -> bool:
    # whole seconds, as iat is: an uninstall in the same second as the install is not older
    if payload.issued_at is None or installed_at is None:
        return False
    return payload.issued_at < int(installed_at.timestamp())


async def remove_user_callback(request: web.Request) -> web.Response:
    """`GET /bigcommerce/remove-user`: end the sessions and launch links of the user BigCommerce removed."""
    payload = _verified(request)
    if isinstance(payload, web.Response):
        return payload
    gateway: Gateway = request.app[GATEWAY_KEY]
    async with gateway.pool.acquire() as conn, conn.transaction():
        # claimed first: a JWT is good for one callback, so its replay is 401 whatever it holds
        if not await claim_jwt(conn, payload.replay_key, payload.expires_at):
            return _replayed(request, payload)
        if payload.user is None:
            log.warning("remove_user_without_user", store_hash=payload.store_hash)
            return error_page(400, "No user named", "The request does not say which user was removed.")
        channel = await get_channel_by_store(conn, payload.store_hash)
        if channel is None:
            return web.Response(status=204)
        ended = await end_user_sessions(conn, channel.id, payload.user.id)
        await delete_user_launches(conn, channel.id, payload.user.id)
    log.info(
        "channel_user_removed",
        channel_id=str(channel.id),
        user_id=payload.user.id,
        sessions_ended=ended,
    )
    return web.Response(status=204)


def add_callback_routes(app: web.Application) -> None:
    app.router.add_get("/bigcommerce/auth", auth)
    app.router.add_get("/bigcommerce/load", load)
    app.router.add_get("/bigcommerce/uninstall", uninstall)
    app.router.add_get("/bigcommerce/remove-user", remove_user_callback)
    # BigCommerce's docs spell the callback remove_user; an app profile may name either path
    app.router.add_get("/bigcommerce/remove_user", remove_user_callback)
