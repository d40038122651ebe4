"""Auth gateway test rig: the sandbox and a real gateway site on a free port, plus API helpers."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web
from auth_gateway.app import create_app
from auth_gateway.context import GATEWAY_KEY, Gateway
from auth_gateway.settings import GatewaySettings
from bigcommerce_sandbox.models import AppConfig, Store
from bigcommerce_sandbox.runner import run_sandbox
from bigcommerce_sandbox.sandbox import Sandbox
from common.crypto import generate_key
from yarl import URL

from tests.support.waiting import free_port

CLIENT_ID = "gateway-test-client"
CLIENT_SECRET = "gateway-test-secret-0123456789abcdef0123456789"
API_TOKEN = "internal-api-token-0123456789abcdef"
OTHER_API_TOKEN = "second-internal-token-0123456789"


@dataclass
class GatewayRig:
    sandbox: Sandbox
    settings: GatewaySettings
    app: web.Application
    base_url: str
    http: aiohttp.ClientSession
    pool: asyncpg.Pool

    @property
    def gateway(self) -> Gateway:
        return self.app[GATEWAY_KEY]

    def create_store(self, store_hash: str | None = None, **options: Any) -> Store:
        return self.sandbox.create_store(store_hash or f"s{uuid.uuid4().hex[:9]}", **options)

    async def install(self, store_hash: str, *, scopes: list[str] | None = None) -> aiohttp.ClientResponse:
        """The merchant's Confirm: the browser follows BigCommerce's redirect to the auth callback."""
        callback = self.sandbox.authorize(store_hash, scopes=scopes)
        async with self.http.get(callback.url, allow_redirects=False) as response:
            await response.read()
            return response

    async def install_url(self, url: str) -> aiohttp.ClientResponse:
        async with self.http.get(url, allow_redirects=False) as response:
            await response.read()
            return response

    async def callback(self, name: str, jwt_token: str) -> aiohttp.ClientResponse:
        url = f"{self.base_url}/bigcommerce/{name}"
        async with self.http.get(
            url, params={"signed_payload_jwt": jwt_token}, allow_redirects=False
        ) as response:
            await response.read()
            return response

    async def api(
        self, method: str, path: str, *, json: Any = None, token: str | None = API_TOKEN, **kwargs: Any
    ) -> tuple[int, Any, aiohttp.ClientResponse]:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with self.http.request(
            method, f"{self.base_url}{path}", json=json, headers=headers, **kwargs
        ) as response:
            raw = await response.read()
            body: Any = None
            if raw and response.content_type in ("application/json", "application/problem+json"):
                body = await response.json(content_type=None)
            return response.status, body, response

    async def launch(self, store_hash: str, *, user_id: int | None = None) -> tuple[uuid.UUID, str]:
        """The merchant's Launch: the load callback's redirect, as (channel id, launch token)."""
        response = await self.callback("load", self.sandbox.signed_payload(store_hash, user_id=user_id))
        assert response.status == 302, response.status
        location = URL(response.headers["Location"])
        return uuid.UUID(location.parts[2]), location.query["launch"]

    def browser(self) -> aiohttp.ClientSession:
        """A separate browser: its own cookies (kept for 127.0.0.1 too), redirects not followed."""
        return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def open_settings(
        self, browser: aiohttp.ClientSession, channel_id: uuid.UUID, launch_token: str
    ) -> str:
        """Follow a launch link in `browser`: the session cookie is set; returns the page's CSRF token."""
        url = f"{self.base_url}/channels/{channel_id}/settings"
        async with browser.get(url, params={"launch": launch_token}, allow_redirects=False) as response:
            assert response.status == 303, (response.status, await response.text())
            assert response.headers["Location"] == f"/channels/{channel_id}/settings"
        async with browser.get(url) as response:
            assert response.status == 200, response.status
            match = re.search(r'name="csrf_token" value="([^"]+)"', await response.text())
        assert match is not None
        return match[1]

    async def channel_row(self, store_hash: str) -> asyncpg.Record | None:
        return await self.pool.fetchrow("SELECT * FROM channels WHERE store_hash = $1", store_hash)

    async def installed_channel(self, store_hash: str) -> uuid.UUID:
        response = await self.install(store_hash)
        assert response.status == 200, response.status
        row = await self.channel_row(store_hash)
        assert row is not None
        channel_id: uuid.UUID = row["id"]
        return channel_id

    async def active_channel(self, store_hash: str) -> uuid.UUID:
        channel_id = await self.installed_channel(store_hash)
        status, body, _ = await self.api(
            "POST", f"/api/v1/channels/{channel_id}/activate", json={"trading_name": "Your Company"}
        )
        assert status == 200, body
        return channel_id


def gateway_settings(
    *,
    database_url: str,
    amqp_url: str,
    exchange: str,
    sandbox: Sandbox | DocsFake,
    port: int,
    **overrides: Any,
) -> GatewaySettings:
    base = f"http://127.0.0.1:{port}"
    values: dict[str, Any] = {
        "database_url": database_url,
        "amqp_url": amqp_url,
        "amqp_exchange": exchange,
        "bigcommerce_client_id": CLIENT_ID,
        "bigcommerce_client_secret": CLIENT_SECRET,
        "bigcommerce_api_url": sandbox.api_url,
        "bigcommerce_login_url": sandbox.login_url,
        "token_encryption_keys": [generate_key()],
        "internal_api_tokens": [API_TOKEN, OTHER_API_TOKEN],
        "public_base_url": base,
        "clickdrop_app_url": base,
        "settings_pages_enabled": True,
        "bigcommerce_control_panel_url": f"{sandbox.login_url}/marketplace",
        "http_port": port,
        **overrides,
    }
    return GatewaySettings(**values)


@asynccontextmanager
async def serve_gateway(settings: GatewaySettings) -> AsyncIterator[web.Application]:
    """The gateway app serving on `settings.http_port` until the block ends."""
    app = create_app(settings)
    # a request still in hand at the end is cut after 5 s, not aiohttp's 60 s (twice): a test's
    # teardown never waits minutes for it
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", settings.http_port).start()
        yield app
    finally:
        await runner.cleanup()


@asynccontextmanager
async def run_gateway_rig(
    *, database_url: str, amqp_url: str, exchange: str, pool: asyncpg.Pool, **overrides: Any
) -> AsyncIterator[GatewayRig]:
    """The sandbox (hooks may target plain http) and the gateway serving on a free local port."""
    port = free_port()
    app_config = AppConfig.for_base_url(f"http://127.0.0.1:{port}", CLIENT_ID, CLIENT_SECRET)
    async with run_sandbox(app=app_config, allow_insecure_destinations=True) as sandbox:
        settings = gateway_settings(
            database_url=database_url,
            amqp_url=amqp_url,
            exchange=exchange,
            sandbox=sandbox,
            port=port,
            **overrides,
        )
        async with serve_gateway(settings) as app, aiohttp.ClientSession() as http:
            yield GatewayRig(sandbox, settings, app, f"http://127.0.0.1:{port}", http, pool)


# The token response exactly as BigCommerce's auth guide shows it (reference §1.2), minus the
# fields older real responses lack: no owner, no account_uuid, and a user without username.
DOCS_TOKEN_RESPONSE: dict[str, Any] = {
    "access_token": "xxxxalphanumstringxxxx",
    "user": {"id": 24654, "email": "merchant@example.com"},
}


class DocsFake:
    """A BigCommerce written only from the docs' examples: login service, `/v2/store`, `/v3/hooks`.

    Unlike the sandbox it refuses webhook destinations that are not https on port 443, as the docs
    say, and each answer can be replaced to see how the gateway copes.
    """

    def __init__(self) -> None:
        self.token_requests: list[tuple[str, dict[str, Any]]] = []
        self.token_answer: tuple[int, bytes] | None = None
        self.store_answer: tuple[int, bytes] = (200, json.dumps({"id": "x", "name": "Docs Store"}).encode())
        self.hooks: list[dict[str, Any]] = []
        self.hooks_listable = True
        self.base_url = ""

    @property
    def api_url(self) -> str:
        return self.base_url

    @property
    def login_url(self) -> str:
        return self.base_url

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/oauth2/token", self._token)
        app.router.add_get("/stores/{hash}/v2/store", self._store)
        app.router.add_get("/stores/{hash}/v3/hooks", self._list_hooks)
        app.router.add_post("/stores/{hash}/v3/hooks", self._create_hook)
        return app

    async def _token(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.token_requests.append((request.content_type, body))
        if self.token_answer is not None:
            status, raw = self.token_answer
            return web.Response(status=status, body=raw, content_type="text/html")
        granted = {**DOCS_TOKEN_RESPONSE, "scope": body["scope"], "context": body["context"]}
        return web.json_response(granted)

    async def _store(self, request: web.Request) -> web.Response:
        status, raw = self.store_answer
        return web.Response(status=status, body=raw, content_type="application/json")

    async def _list_hooks(self, request: web.Request) -> web.Response:
        if not self.hooks_listable:
            return web.json_response({"status": 404, "title": "Not Found"}, status=404)
        return web.json_response({"data": self.hooks, "meta": {}})

    async def _create_hook(self, request: web.Request) -> web.Response:
        body = await request.json()
        if not str(body.get("destination", "")).startswith("https://"):
            # reference §8.1: HTTPS on port 443 only
            error = {
                "status": 422,
                "title": "JSON data is missing or invalid",
                "errors": {"destination": "https"},
            }
            return web.json_response(error, status=422)
        hook = {
            "id": len(self.hooks) + 1,
            "client_id": CLIENT_ID,
            "store_hash": request.match_info["hash"],
            **body,
        }
        self.hooks.append(hook)
        return web.json_response({"data": hook, "meta": {}})


@dataclass
class DocsRig:
    fake: DocsFake
    settings: GatewaySettings
    http: aiohttp.ClientSession
    pool: asyncpg.Pool

    @property
    def base_url(self) -> str:
        # where it listens, which PUBLIC_BASE_URL (as BigCommerce sees it) may not be
        return f"http://127.0.0.1:{self.settings.http_port}"

    async def auth(self, query: str) -> tuple[int, str]:
        async with self.http.get(
            f"{self.base_url}/bigcommerce/auth?{query}", allow_redirects=False
        ) as response:
            return response.status, await response.text()

    async def api(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        async with self.http.request(method, f"{self.base_url}{path}", headers=headers, **kwargs) as response:
            return response.status, await response.json(content_type=None)


@asynccontextmanager
async def run_docs_rig(
    *, database_url: str, amqp_url: str, exchange: str, pool: asyncpg.Pool, **overrides: Any
) -> AsyncIterator[DocsRig]:
    """The gateway against `DocsFake` instead of the sandbox."""
    fake = DocsFake()
    runner = web.AppRunner(fake.app(), access_log=None, shutdown_timeout=5)
    await runner.setup()
    fake_port = free_port()
    try:
        await web.TCPSite(runner, "127.0.0.1", fake_port).start()
        fake.base_url = f"http://127.0.0.1:{fake_port}"
        settings = gateway_settings(
            database_url=database_url,
            amqp_url=amqp_url,
            exchange=exchange,
            sandbox=fake,
            port=free_port(),
            **overrides,
        )
        async with serve_gateway(settings), aiohttp.ClientSession() as http:
            yield DocsRig(fake, settings, http, pool)
    finally:
        await runner.cleanup()
