"""BigCommerce's app callbacks: auth (install), load (open), uninstall and remove-user."""

from __future__ import annotations

import structlog
from aiohttp import web
from common.db.channels import Channel, get_channel_by_store

from auth_gateway import operations
from auth_gateway.context import GATEWAY_KEY, Gateway
from auth_gateway.db.users import ChannelUser, remove_user, upsert_user
from auth_gateway.hooks import register_hook
from auth_gateway.install import InstallError, install
from auth_gateway.jwt_verify import SignedPayload, SignedPayloadError, verify_signed_payload
from auth_gateway.pages import error_page, installed_page

log = structlog.get_logger(__name__)

REINSTALL = "Install the Click & Drop app again from your BigCommerce control panel to reconnect this store."


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
    return installed_page(gateway.settings.channel_settings_url(installed.channel_id))


Verified = tuple[Gateway, SignedPayload, Channel | None]


async def _verified(request: web.Request) -> Verified | web.Response:
    """The verified JWT and its store's channel (None if unknown), or the 401 page to answer."""
    gateway = request.app[GATEWAY_KEY]
    settings = gateway.settings
    try:
        payload = verify_signed_payload(
            request.query.get("signed_payload_jwt"),
            client_id=settings.bigcommerce_client_id,
            client_secret=settings.bigcommerce_client_secret.get_secret_value(),
            leeway_s=settings.jwt_leeway_seconds,
        )
    except SignedPayloadError as error:
        log.warning("signed_payload_refused", path=request.path, reason=str(error))
        return error_page(401, "Not signed by BigCommerce", f"This request could not be verified: {error}.")
    channel = await get_channel_by_store(gateway.pool, payload.store_hash)
    if channel is None:
        log.warning("callback_for_unknown_store", path=request.path, store_hash=payload.store_hash)
    return gateway, payload, channel


async def load(request: web.Request) -> web.StreamResponse:
    """`GET /bigcommerce/load`: the merchant opened the app; send them to the channel's settings."""
    verified = await _verified(request)
    if isinstance(verified, web.Response):
        return verified
    gateway, payload, channel = verified
    if channel is None:
        return error_page(
            403, "Store not connected", f"This store is not connected to Click & Drop. {REINSTALL}"
        )
    if channel.status == "disconnected":
        return error_page(
            403, "Store disconnected", f"This store was disconnected from Click & Drop. {REINSTALL}"
        )
    if payload.user is not None:
        is_owner = payload.owner is not None and payload.owner.id == payload.user.id
        user = ChannelUser(user_id=payload.user.id, email=payload.user.email, username="", is_owner=is_owner)
        await upsert_user(gateway.pool, channel.id, user)
    if channel.status == "active":
        # BigCommerce deletes hooks on uninstall and deactivates them after failures
        await register_hook(gateway, channel.id)
    log.info("app_loaded", channel_id=str(channel.id), store_hash=channel.store_hash)
    raise web.HTTPFound(gateway.settings.channel_settings_url(channel.id))


async def uninstall(request: web.Request) -> web.Response:
    """`GET /bigcommerce/uninstall` (server to server): disconnect and erase the token.

    A store without a channel (deleted here) is already in the state asked for: 204 as well.
    """
    verified = await _verified(request)
    if isinstance(verified, web.Response):
        return verified
    gateway, _, channel = verified
    if channel is None:
        return web.Response(status=204)
    await operations.uninstall(gateway, channel.id)
    log.info("app_uninstalled", channel_id=str(channel.id), store_hash=channel.store_hash)
    return web.Response(status=204)


async def remove_user_callback(request: web.Request) -> web.Response:
    """`GET /bigcommerce/remove-user`: forget the user BigCommerce removed from the app."""
    verified = await _verified(request)
    if isinstance(verified, web.Response):
        return verified
    gateway, payload, channel = verified
    if payload.user is None:
        log.warning("remove_user_without_user", store_hash=payload.store_hash)
        return error_page(400, "No user named", "The request does not say which user was removed.")
    if channel is not None:
        removed = await remove_user(gateway.pool, channel.id, payload.user.id)
        log.info("channel_user_removed", channel_id=str(channel.id), user_id=payload.user.id, known=removed)
    return web.Response(status=204)


def add_callback_routes(app: web.Application) -> None:
    app.router.add_get("/bigcommerce/auth", auth)
    app.router.add_get("/bigcommerce/load", load)
    app.router.add_get("/bigcommerce/uninstall", uninstall)
    app.router.add_get("/bigcommerce/remove-user", remove_user_callback)
    # BigCommerce's docs spell the callback remove_user; an app profile may name either path
    app.router.add_get("/bigcommerce/remove_user", remove_user_callback)
