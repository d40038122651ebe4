"""v2 store information and time: `GET /v2/store` and `GET /v2/time` (reference §6)."""

from __future__ import annotations

from aiohttp import web

from bigcommerce_sandbox.api import sandbox_of, store_of
from bigcommerce_sandbox.serialize import store_json

routes = web.RouteTableDef()


@routes.get("/stores/{store_hash}/v2/store")
async def get_store(request: web.Request) -> web.Response:
    sandbox = sandbox_of(request)
    return web.json_response(store_json(store_of(request), sandbox.config.account_uuid))


@routes.get("/stores/{store_hash}/v2/time")
async def get_time(request: web.Request) -> web.Response:
    store_of(request)
    return web.json_response({"time": int(sandbox_of(request).clock())})
