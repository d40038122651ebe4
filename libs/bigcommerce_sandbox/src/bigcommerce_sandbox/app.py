"""Wires the sandbox's routes and middleware pipeline into one aiohttp application."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bigcommerce_sandbox import (
    hooks,
    html,
    login,
    marketplace,
    merchant_view,
    orders,
    shipments,
    store_info,
    store_view,
)
from bigcommerce_sandbox.middlewares import PIPELINE, SANDBOX_KEY
from bigcommerce_sandbox.sandbox import Sandbox


def create_app(sandbox: Sandbox) -> web.Application:
    """An application serving `sandbox`: login service, marketplace, store view, v2 and v3 APIs."""
    app = web.Application(middlewares=PIPELINE)
    app[SANDBOX_KEY] = sandbox
    # Shipments before orders so `/orders/{id}/shipments` is not taken for an order route.
    for table in (
        shipments.routes,
        orders.routes,
        store_info.routes,
        hooks.routes,
        login.routes,
        marketplace.routes,
        store_view.routes,
        merchant_view.routes,
        html.routes,
    ):
        app.router.add_routes(table)

    async def close_sandbox(_: web.Application) -> AsyncIterator[None]:
        yield
        await sandbox.close()

    app.cleanup_ctx.append(close_sandbox)
    return app
