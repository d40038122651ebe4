"""Fixtures for the BigCommerce client tests: a fake clock and tiny in-test aiohttp servers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import test_utils, web
from common.bigcommerce import BigCommerceClient, RateLimiterRegistry, RetryPolicy

STORE = "abc123"
TOKEN = "tok-secret-123"
CLIENT_ID = "client-id-1"


class FakeClock:
    """A monotonic clock that only moves when someone sleeps on it.

    A real wait for a window lasts far longer than a local request, so time only moves once
    the requests in flight (`in_flight`, set by `make_client`) have landed.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []
        self.in_flight: Callable[[], int] = lambda: 0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await settle(self.in_flight)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)  # let other tasks run, as a real sleep would


async def settle(in_flight: Callable[[], int], deadline_s: float = 5.0) -> None:
    """Wait until no request is in flight (polled, with a deadline)."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + deadline_s
    while in_flight() and loop.time() < give_up:
        await asyncio.sleep(0.001)


@dataclass
class Seen:
    """One request as the test server received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    at: float


@dataclass
class RequestLog:
    """Requests received by a test server, in arrival order."""

    clock: FakeClock
    seen: list[Seen] = field(default_factory=list)

    async def note(self, request: web.Request) -> Seen:
        raw = await request.read()
        body = await request.json() if raw else None
        entry = Seen(
            request.method,
            request.path,
            dict(request.query),
            dict(request.headers),
            body,
            self.clock(),
        )
        self.seen.append(entry)
        return entry

    def paths(self, method: str | None = None) -> list[str]:
        return [s.path for s in self.seen if method is None or s.method == method]


Serve = Callable[[web.Application], Awaitable[str]]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def request_log(clock: FakeClock) -> RequestLog:
    return RequestLog(clock)


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start an aiohttp app on a free local port; returns its base URL."""
    servers: list[test_utils.TestServer] = []

    async def start(app: web.Application) -> str:
        server = test_utils.TestServer(app)
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


@dataclass
class Backoff:
    """Records the retry delays the client asked for, without sleeping."""

    delays: list[float] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def backoff() -> Backoff:
    return Backoff()


MakeClient = Callable[..., BigCommerceClient]


@pytest.fixture
def make_client(session: aiohttp.ClientSession, clock: FakeClock, backoff: Backoff) -> MakeClient:
    """A client on `url` whose pacing runs on the fake clock and whose retries never sleep."""

    def build(url: str, **overrides: Any) -> BigCommerceClient:
        retry = overrides.pop("retry", None) or RetryPolicy(
            max_attempts=overrides.pop("max_attempts", 4),
            sleep=backoff.sleep,
            random=lambda: 1.0,
        )
        limiters = overrides.pop("limiters", None) or RateLimiterRegistry(
            quota_share=overrides.pop("quota_share", 1.0), clock=clock, sleep=clock.sleep
        )
        clock.in_flight = lambda: limiters.get(STORE).in_flight
        return BigCommerceClient(
            session,
            url,
            client_id=overrides.pop("client_id", CLIENT_ID),
            retry=retry,
            limiters=limiters,
            **overrides,
        )

    return build
