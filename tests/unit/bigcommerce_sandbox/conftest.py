"""Fixtures for the sandbox's contract tests: a served sandbox with a driven clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from bigcommerce_sandbox import AppConfig, ManualClock, Sandbox, Store, run_sandbox

STORE_HASH = "abc123"
START = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
APP = AppConfig(
    client_id="test-client",
    client_secret="test-app-client-secret-0123456789abcdef",
    auth_callback_url="https://app.example.com/bigcommerce/auth",
    load_callback_url="https://app.example.com/bigcommerce/load",
    uninstall_callback_url="https://app.example.com/bigcommerce/uninstall",
    remove_user_callback_url="https://app.example.com/bigcommerce/remove-user",
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def sandbox(clock: ManualClock) -> AsyncIterator[Sandbox]:
    async with run_sandbox(app=APP, clock=clock) as sb:
        yield sb


@pytest.fixture
def store(sandbox: Sandbox) -> Store:
    # A high quota keeps rate limiting out of tests that are not about it.
    return sandbox.create_store(STORE_HASH, name="Zoë's Shop", rate_quota=10_000)


@pytest.fixture
def token(sandbox: Sandbox, store: Store) -> str:
    return sandbox.issue_token(store.hash)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


class Api:
    """A tiny client for one store: `{api_url}/stores/{hash}/...` with the token."""

    def __init__(self, session: aiohttp.ClientSession, sandbox: Sandbox, token: str) -> None:
        self.session = session
        self.base = f"{sandbox.api_url}/stores/{STORE_HASH}"
        self.headers = {"X-Auth-Token": token, "Accept": "application/json"}

    def request(self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        merged = {**self.headers, **(headers or {})}
        return self.session.request(method, self.base + path, headers=merged, **kwargs)


@pytest.fixture
def api(http: aiohttp.ClientSession, sandbox: Sandbox, token: str) -> Api:
    return Api(http, sandbox, token)


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A loopback HTTP server that records what it is sent and answers `status`."""

    url: str
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, count: int) -> list[Received]:
        async with asyncio.timeout(5):
            while len(self.requests) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.requests


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    holder: list[Receiver] = []

    async def handle(request: web.Request) -> web.Response:
        rec = holder[0]
        rec.requests.append(
            Received(
                request.method, request.path, dict(request.query), dict(request.headers), await request.read()
            )
        )
        rec.arrived.set()
        return web.Response(status=rec.status)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    holder.append(Receiver(url=f"http://127.0.0.1:{runner.addresses[0][1]}"))
    yield holder[0]
    await runner.cleanup()
