"""v3 webhooks API: `/v3/hooks` list, create, get, update, delete (reference §8.1)."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bigcommerce_sandbox.api import int_path, json_object, page_params, sandbox_of, store_of
from bigcommerce_sandbox.errors import ApiError
from bigcommerce_sandbox.middlewares import request_token
from bigcommerce_sandbox.models import Hook
from bigcommerce_sandbox.serialize import hook_json
from bigcommerce_sandbox.webhooks import KNOWN_SCOPES

routes = web.RouteTableDef()
PREFIX = "/stores/{store_hash}/v3/hooks"
MAX_HOOKS_PER_SCOPE = 10


def _invalid(field: str, reason: str) -> ApiError:
    return ApiError(422, errors={field: reason})


def _validate(request: web.Request, body: dict[str, Any], *, creating: bool) -> None:
    allow_insecure = sandbox_of(request).allow_insecure_destinations
    if creating:
        for name in ("scope", "destination"):
            if name not in body:
                raise _invalid(name, "error.path.missing")
    if "scope" in body and body["scope"] not in KNOWN_SCOPES:
        raise _invalid("scope", "error.scope.invalid")
    if "destination" in body:
        destination = body["destination"]
        if not isinstance(destination, str):
            raise _invalid("destination", "error.expected.string")
        parts = urlsplit(destination)
        try:
            port = parts.port
        except ValueError:
            raise _invalid("destination", "error.url.invalid") from None
        secure = parts.scheme == "https" and port in (None, 443)
        # BigCommerce accepts only https on port 443; `allow_insecure_destinations` lets
        # local demos and tests receive on plain http and any port.
        insecure_ok = allow_insecure and parts.scheme in ("http", "https")
        if not parts.hostname or not (secure or insecure_ok):
            raise _invalid("destination", "error.url.https.port443.required")
    if "is_active" in body and not isinstance(body["is_active"], bool):
        raise _invalid("is_active", "error.expected.jsboolean")
    headers = body.get("headers", {})
    if headers is not None and not (
        isinstance(headers, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    ):
        raise _invalid("headers", "error.expected.jsobject")


def _check_limits(request: web.Request, scope: str, destination: str, skip: int = 0) -> None:
    """One hook per store+app+scope+destination, at most ten per store+app+scope."""
    token = request_token(request)
    same_scope = [
        h
        for h in sandbox_of(request).hooks_for(token.store_hash, token.client_id)
        if h.scope == scope and h.id != skip
    ]
    if any(h.destination == destination for h in same_scope):
        raise _invalid("destination", "error.hook.duplicate")
    if len(same_scope) >= MAX_HOOKS_PER_SCOPE:
        raise _invalid("scope", "error.hook.limit")


def _hook_of(request: web.Request) -> Hook:
    token = request_token(request)
    hook = sandbox_of(request).hooks.get(int_path(request, "hook_id"))
    # Hooks are visible only to the app that created them (reference §8.1).
    if hook is None or hook.store_hash != token.store_hash or hook.client_id != token.client_id:
        raise ApiError(404)
    return hook


@routes.get(PREFIX)
async def list_hooks(request: web.Request) -> web.Response:
    token = request_token(request)
    store_of(request)
    hooks = sandbox_of(request).hooks_for(token.store_hash, token.client_id)
    if (active := request.query.get("is_active")) is not None:
        hooks = [h for h in hooks if h.is_active == (active.lower() == "true")]
    if scope := request.query.get("scope"):
        hooks = [h for h in hooks if h.scope == scope]
    if destination := request.query.get("destination"):
        hooks = [h for h in hooks if h.destination == destination]
    page, limit = page_params(request)
    chunk = hooks[(page - 1) * limit : page * limit]
    pages = max(1, math.ceil(len(hooks) / limit))
    meta = {
        "pagination": {
            "total": len(hooks),
            "count": len(chunk),
            "per_page": limit,
            "current_page": page,
            "total_pages": pages,
            "links": {"current": f"?page={page}&limit={limit}"},
        }
    }
    return web.json_response({"data": [hook_json(h) for h in chunk], "meta": meta})


@routes.post(PREFIX)
async def create_hook(request: web.Request) -> web.Response:
    token = request_token(request)
    store_of(request)
    body = await json_object(request)
    _validate(request, body, creating=True)
    _check_limits(request, body["scope"], body["destination"])
    hook = sandbox_of(request).create_hook(
        token.store_hash,
        body["scope"],
        body["destination"],
        headers=body.get("headers") or {},
        is_active=body.get("is_active", True),
        client_id=token.client_id,
    )
    return web.json_response({"data": hook_json(hook), "meta": {}})


@routes.get(PREFIX + "/{hook_id}")
async def get_hook(request: web.Request) -> web.Response:
    return web.json_response({"data": hook_json(_hook_of(request)), "meta": {}})


@routes.put(PREFIX + "/{hook_id}")
async def update_hook(request: web.Request) -> web.Response:
    hook = _hook_of(request)
    body = await json_object(request)
    _validate(request, body, creating=False)
    scope = body.get("scope", hook.scope)
    destination = body.get("destination", hook.destination)
    if (scope, destination) != (hook.scope, hook.destination):
        _check_limits(request, scope, destination, skip=hook.id)
    hook.scope, hook.destination = scope, destination
    if "is_active" in body:
        hook.is_active = body["is_active"]
    if "headers" in body:
        hook.headers = dict(body["headers"] or {})
    hook.updated_at = int(sandbox_of(request).clock())
    return web.json_response({"data": hook_json(hook), "meta": {}})


@routes.delete(PREFIX + "/{hook_id}")
async def delete_hook(request: web.Request) -> web.Response:
    hook = _hook_of(request)
    del sandbox_of(request).hooks[hook.id]
    return web.json_response({"data": hook_json(hook), "meta": {}})
