"""Request pipeline: persist changes; for the store API log, rate limit, faults, error shapes, auth, media types."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler

from bigcommerce_sandbox.errors import ApiError, render
from bigcommerce_sandbox.faults import ConnectionDropped, Fault, hang, reset_connection, send_malformed
from bigcommerce_sandbox.models import RequestRecord, Token
from bigcommerce_sandbox.sandbox import Sandbox

SANDBOX_KEY = web.AppKey("sandbox", Sandbox)
AUTH_KEY = web.RequestKey("bigcommerce_sandbox.auth", Token)

_STORE_PATH = re.compile(r"^/stores/(?P<hash>[^/]+)/(?P<version>v2|v3)(?P<rest>/.*)?$")

ORDERS_READ = ("store_v2_orders", "store_v2_orders_read_only")
ORDERS_WRITE = ("store_v2_orders",)
INFORMATION_READ = ("store_v2_information", "store_v2_information_read_only")
_JSON_RANGES = {"application/json", "application/*", "*/*"}


@dataclass(frozen=True)
class StorePath:
    """A request path under `/stores/{hash}/{version}`."""

    store_hash: str
    version: str
    rest: str


def parse_store_path(path: str) -> StorePath | None:
    """Split a store API path, or None for the login service and marketplace pages."""
    match = _STORE_PATH.match(path)
    if match is None:
        return None
    return StorePath(match["hash"], match["version"], match["rest"] or "/")


def required_scopes(method: str, where: StorePath) -> tuple[str, ...]:
    """Scopes of which the token needs one; empty when the default scope is enough."""
    if where.version == "v2" and where.rest.startswith("/orders"):
        return ORDERS_READ if method in ("GET", "HEAD") else ORDERS_WRITE
    if where.version == "v2" and where.rest.rstrip("/") == "/store":
        return INFORMATION_READ
    # /v2/time and /v3/hooks need no scope (reference §3, §6); /v2/time is the usual
    # credential check and its scope is undocumented, so the sandbox asks for none.
    return ()


def request_token(request: web.Request) -> Token:
    """The token the auth middleware accepted for this request."""
    return request[AUTH_KEY]


@web.middleware
async def persist_changes(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Save the sandbox after every request that may change it, before the answer goes out."""
    try:
        return await handler(request)
    finally:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            request.app[SANDBOX_KEY].save()


@web.middleware
async def log_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Record every store API request as it arrives; its final status once answered (None when dropped).

    Logged on arrival, not on answer: a request whose answer hangs (a fault) has still reached the
    store, and a test looking right after the client gave up must see it.
    """
    where = parse_store_path(request.path)
    if where is None:
        return await handler(request)
    sandbox = request.app[SANDBOX_KEY]
    record = RequestRecord(request.method, request.path, request.query_string, None, sandbox.clock())
    sandbox.record_request(where.store_hash, record)
    try:
        response = await handler(request)
        record.status = response.status
        return response
    except ConnectionDropped:
        # The transport is gone; aiohttp drops this response quietly.
        return web.Response(status=499)


@web.middleware
async def compress(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Gzip API bodies when the client accepts it, as BigCommerce does (reference §0)."""
    response = await handler(request)
    if (
        parse_store_path(request.path) is not None
        and isinstance(response, web.Response)
        and response.body
        and "gzip" in request.headers.get("Accept-Encoding", "")
    ):
        response.enable_compression(web.ContentCoding.gzip)
    return response


@web.middleware
async def rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Apply the store's quota and put the rate-limit headers on every response."""
    where = parse_store_path(request.path)
    sandbox = request.app[SANDBOX_KEY]
    if where is None or where.store_hash not in sandbox.stores:
        return await handler(request)
    store = sandbox.stores[where.store_hash]
    decision = sandbox.rate_limiter.check(store.hash, store.rate_quota)
    if not decision.allowed:
        return render(ApiError(429, "Too many requests", headers=decision.headers()), request.path)
    response = await handler(request)
    if response.status == 429:
        # Only an injected 429 gets here: BigCommerce's "platform under load" 429 comes
        # without any rate-limit headers (reference §7).
        return response
    response.headers.update(decision.headers())
    return response


async def _drop(request: web.Request, fault: Fault, sandbox: Sandbox, *, wait: bool) -> None:
    if wait:
        await hang(request, fault.hang_s, sandbox.closing)
    reset_connection(request)
    raise ConnectionDropped


@web.middleware
async def inject_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Apply the first armed fault of the store (or of the login service) that fires."""
    sandbox = request.app[SANDBOX_KEY]
    where = parse_store_path(request.path)
    if where is not None:
        faults = sandbox.faults(where.store_hash)
    elif request.path.startswith("/oauth2/"):
        faults = sandbox.login_faults
    else:
        return await handler(request)
    fault = faults.pick(request.method, request.path)
    if fault is None:
        return await handler(request)
    if fault.kind == "latency":
        await asyncio.sleep(fault.delay_s)
        return await handler(request)
    if fault.kind == "status" and where is None:
        body = {"error": "server_error", "error_description": "Injected failure."}
        return web.json_response(body, status=fault.status)
    if fault.kind == "status":
        return render(ApiError(fault.status), request.path)
    if fault.kind == "malformed_http":
        send_malformed(request)
        raise ConnectionDropped
    if fault.kind in ("timeout", "reset"):
        await _drop(request, fault, sandbox, wait=fault.kind == "timeout")
    await handler(request)  # apply_then_*: the change happens, the answer never arrives
    await _drop(request, fault, sandbox, wait=fault.kind == "apply_then_timeout")
    raise AssertionError("unreachable")  # pragma: no cover


@web.middleware
async def render_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn errors on store API paths into the v2 array or v3 object shape."""
    if parse_store_path(request.path) is None:
        return await handler(request)
    try:
        return await handler(request)
    except ApiError as error:
        return render(error, request.path)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return render(ApiError(exc.status), request.path)


def _accepts_json(accept: str) -> bool:
    ranges = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return not accept.strip() or bool(ranges & _JSON_RANGES)


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Check X-Auth-Token, the token's scopes, Accept and Content-Type."""
    where = parse_store_path(request.path)
    if where is None:
        return await handler(request)
    sandbox = request.app[SANDBOX_KEY]
    token = sandbox.tokens.get(request.headers.get("X-Auth-Token", ""))
    if token is None or token.revoked or token.store_hash != where.store_hash:
        raise ApiError(401)
    needed = required_scopes(request.method, where)
    if needed and not token.scopes.intersection(needed):
        raise ApiError(403)
    if not _accepts_json(request.headers.get("Accept", "*/*")):
        raise ApiError(406)
    if request.method in ("POST", "PUT") and request.content_type != "application/json":
        raise ApiError(415)
    request[AUTH_KEY] = token
    return await handler(request)


PIPELINE = [persist_changes, log_requests, compress, rate_limit, inject_faults, render_errors, authenticate]
