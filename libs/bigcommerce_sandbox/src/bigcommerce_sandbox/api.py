"""Helpers shared by the store API handlers: lookups, pagination, JSON bodies."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar

from aiohttp import web

from bigcommerce_sandbox.errors import ApiError
from bigcommerce_sandbox.middlewares import SANDBOX_KEY
from bigcommerce_sandbox.models import Order, Store
from bigcommerce_sandbox.sandbox import Sandbox

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 250


def sandbox_of(request: web.Request) -> Sandbox:
    return request.app[SANDBOX_KEY]


def store_of(request: web.Request) -> Store:
    """The store named in the path (the auth middleware already checked the token)."""
    store = sandbox_of(request).stores.get(request.match_info["store_hash"])
    if store is None:
        raise ApiError(404)
    return store


def order_of(request: web.Request) -> Order:
    """The order named in the path; 404 when absent or not an integer."""
    store = store_of(request)
    order = store.orders.get(int_path(request, "order_id"))
    if order is None:
        raise ApiError(404)
    return order


def int_path(request: web.Request, name: str) -> int:
    """An integer path segment; anything else is a 404 like an unknown resource."""
    try:
        return int(request.match_info[name])
    except ValueError:
        raise ApiError(404) from None


def api_base(request: web.Request) -> str:
    """`{api_url}/stores/{hash}/v2`, the prefix of v2 resource links."""
    return f"{request.url.origin()}/stores/{request.match_info['store_hash']}/v2"


def int_param(request: web.Request, name: str, default: int | None = None) -> int | None:
    """An integer query parameter; a malformed value is a 400."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, f"The field '{name}' is invalid.") from None


def page_params(request: web.Request, max_limit: int = MAX_LIMIT) -> tuple[int, int]:
    """`page` (1-based) and `limit` (default 50); a limit over the maximum is a 413."""
    page = int_param(request, "page", 1)
    limit = int_param(request, "limit", DEFAULT_LIMIT)
    assert page is not None
    assert limit is not None
    if limit > max_limit:
        raise ApiError(413, f"The limit may not exceed {max_limit}.")
    if limit < 1:
        raise ApiError(400, "The field 'limit' is invalid.")
    if page < 1:
        raise ApiError(400, "The field 'page' is invalid.")
    return page, limit


def paginate(request: web.Request, items: Sequence[T]) -> list[T]:
    """The requested page of `items`."""
    page, limit = page_params(request)
    start = (page - 1) * limit
    return list(items[start : start + limit])


def v2_list(body: list[Any]) -> web.Response:
    """A v2 list page: an empty page is `204 No Content` with no body (reference §4.1)."""
    if not body:
        return web.Response(status=204)
    return web.json_response(body)


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object; anything else is a 400."""
    raw = await request.text()
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(400, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return body
