"""The gateway's aiohttp application: routes, middlewares, and each resource as a cleanup context."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
import structlog
from aio_pika.abc import AbstractRobustConnection
from aiohttp import web
from common.amqp import EventPublisher, Topology, connection_is_open, open_connection
from common.bigcommerce.client import BigCommerceClient
from common.bigcommerce.retry import RetryPolicy
from common.crypto import TokenCipher
from common.db.pool import Pool, open_pool, ping
from common.health import Health, add_health_routes
from common.operational_metrics import channel_statuses
from common.outbox import OutboxRelay
from common.supervision import spawn

from auth_gateway.api.middleware import make_api_middleware
from auth_gateway.api.routes import routes as api_routes
from auth_gateway.callbacks import add_callback_routes
from auth_gateway.context import GATEWAY_KEY, Gateway
from auth_gateway.pages.layout import add_asset_routes
from auth_gateway.settings import GatewaySettings
from auth_gateway.settings_pages import add_settings_routes
from auth_gateway.webhook_registration import run_hook_checks
from auth_gateway.webhooks import add_webhook_routes

log = structlog.get_logger(__name__)

SETTINGS_KEY = web.AppKey("settings", GatewaySettings)
POOL_KEY = web.AppKey("pool", Pool)
AMQP_KEY = web.AppKey("amqp", AbstractRobustConnection)
HTTP_KEY = web.AppKey("http", aiohttp.ClientSession)
RELAY_KEY = web.AppKey("relay", OutboxRelay)
HEALTH = web.AppKey("gateway_health", Health)

# Every BigCommerce call the gateway makes is on a merchant's or operator's request path (or the
# periodic hook check, which repairs later anyway): few, short retries.
GATEWAY_RETRY = RetryPolicy(max_attempts=3, read_backoff_s=0.5, write_backoff_s=1.0, max_backoff_s=4.0)


async def _pool_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS_KEY]
    async with open_pool(
        settings.database_url.get_secret_value(), max_size=settings.database_pool_size
    ) as pool:
        app[POOL_KEY] = pool
        yield


async def _http_ctx(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30, connect=5)) as session:
        app[HTTP_KEY] = session
        yield


async def _amqp_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS_KEY]
    url = settings.amqp_url.get_secret_value()
    async with (
        open_connection(url, name="auth-gateway") as connection,
        EventPublisher(connection, Topology(exchange=settings.amqp_exchange)) as publisher,
        OutboxRelay(app[POOL_KEY], publisher, backoff=settings.server_backoff) as relay,
    ):
        app[AMQP_KEY] = connection
        app[RELAY_KEY] = relay
        yield


async def _gateway_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS_KEY]
    relay = app[RELAY_KEY]
    gateway = Gateway(
        settings=settings,
        pool=app[POOL_KEY],
        cipher=TokenCipher(settings.token_encryption_keys),
        http=app[HTTP_KEY],
        # the gateway's few requests (hooks, store information) share each store's quota too
        bigcommerce=BigCommerceClient.for_service(app[HTTP_KEY], settings, retry=GATEWAY_RETRY),
        notify_outbox=relay.notify,
    )
    app[GATEWAY_KEY] = gateway
    checks = spawn(
        run_hook_checks(gateway, settings.webhook_check_interval_seconds), name="gateway:hook-checks"
    )
    app[HEALTH].ready = True
    log.info("gateway_started", port=settings.http_port, settings_pages=settings.settings_pages_enabled)
    if not settings.settings_pages_enabled and settings.clickdrop_app_url == settings.public_base_url:
        # Launch would send merchants to pages this gateway does not serve
        log.warning("settings_pages_disabled_but_clickdrop_app_url_is_the_gateway")
    yield
    checks.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await checks


async def _not_ready(app: web.Application) -> None:
    app[HEALTH].ready = False  # stop advertising before connections drain


def create_app(settings: GatewaySettings) -> web.Application:
    """The application; resources open on startup and close in reverse on cleanup."""
    api_middleware = make_api_middleware(settings.internal_api_tokens, settings.max_body_bytes)
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[api_middleware])
    app[SETTINGS_KEY] = settings

    async def database() -> bool:
        return POOL_KEY in app and await ping(app[POOL_KEY])

    async def broker() -> bool:
        return AMQP_KEY in app and await connection_is_open(app[AMQP_KEY])

    async def channel_gauges() -> None:
        if POOL_KEY in app:
            await channel_statuses(app[POOL_KEY])()

    health = Health({"database": database, "broker": broker})
    health.refreshers.append(channel_gauges)
    app[HEALTH] = health
    add_health_routes(app, health)
    app.cleanup_ctx.extend([_pool_ctx, _http_ctx, _amqp_ctx, _gateway_ctx])
    app.on_shutdown.append(_not_ready)
    add_asset_routes(app)
    add_callback_routes(app)
    add_webhook_routes(app)
    app.router.add_routes(api_routes)
    if settings.settings_pages_enabled:
        add_settings_routes(app)
    return app
