"""Pacing over HTTP: concurrent tasks share a store's window; 429 storms are waited out."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

import pytest
from aiohttp import web
from common.bigcommerce import (
    RateLimiter,
    RateLimiterRegistry,
    RetryPolicy,
    Unavailable,
)

from .conftest import STORE, TOKEN, Backoff, FakeClock, MakeClient, Serve


@dataclass
class WindowedStore:
    """A store whose quota refreshes every `window_s` of the fake clock, like BigCommerce's."""

    clock: FakeClock
    quota: int
    window_s: float
    # Requests other apps make on the same store after each of ours (they share the quota).
    other_apps_per_request: int = 0
    window_end: float = 0.0
    used: int = 0
    served: int = 0
    rejected: int = 0
    windows: int = 0

    def _roll(self) -> None:
        now = self.clock()
        if now >= self.window_end:
            self.window_end = now + self.window_s
            self.used = 0
            self.windows += 1

    async def handle(self, request: web.Request) -> web.Response:
        self._roll()
        reset_ms = str(round((self.window_end - self.clock()) * 1000))
        if self.used >= self.quota:
            self.rejected += 1
            return web.json_response(
                [{"status": 429, "message": "Too many requests"}],
                status=429,
                headers={"X-Rate-Limit-Time-Reset-Ms": reset_ms, "X-Retry-After": "0"},
            )
        self.used += 1
        headers = {
            "X-Rate-Limit-Requests-Left": str(self.quota - self.used),
            "X-Rate-Limit-Requests-Quota": str(self.quota),
            "X-Rate-Limit-Time-Reset-Ms": reset_ms,
            "X-Rate-Limit-Time-Window-Ms": str(int(self.window_s * 1000)),
        }
        self.served += 1
        self.used = min(self.quota, self.used + self.other_apps_per_request)
        return web.json_response({"id": STORE, "weight_units": "kg"}, headers=headers)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(f"/stores/{STORE}/v2/store", self.handle)
        return app


def watched_registry(clock: FakeClock, events: list[tuple[str, float, float]]) -> RateLimiterRegistry:
    class Watched(RateLimiter):
        """Logs, in order, each request let through and each response saying none are left."""

        async def acquire(self) -> None:
            await super().acquire()
            events.append(("sent", clock(), 0.0))

        def record(self, status: int, headers: Mapping[str, str]) -> float:
            reset_s = int(headers.get("X-Rate-Limit-Time-Reset-Ms", "0")) / 1000
            retry_s = float(headers.get("X-Retry-After", "0"))
            left = headers.get("X-Rate-Limit-Requests-Left")
            if status == 429 or left == "0":
                # From now until then, the store told us nothing is left.
                events.append(("closed", clock(), clock() + max(reset_s, retry_s)))
            return super().record(status, headers)

    return RateLimiterRegistry(
        factory=lambda store_hash: Watched(store_hash, quota_share=1.0, clock=clock, sleep=clock.sleep)
    )


def sends_while_closed(events: list[tuple[str, float, float]]) -> list[float]:
    closed_until = float("-inf")
    violations = []
    for kind, at, until in events:
        if kind == "closed":
            closed_until = max(closed_until, until)
        elif at < closed_until:
            violations.append(at)
    return violations


async def test_concurrent_tasks_share_the_window_and_never_exceed_it(
    serve: Serve, make_client: MakeClient, clock: FakeClock
) -> None:
    store = WindowedStore(clock, quota=5, window_s=1.0)
    url = await serve(store.app())
    events: list[tuple[str, float, float]] = []
    client = make_client(url, limiters=watched_registry(clock, events))
    # Separate StoreApi objects, as separate tasks of a process would have: one shared limiter.
    apis = [client.store(STORE, TOKEN) for _ in range(40)]

    results = await asyncio.gather(*(api.get_store_info() for api in apis))

    assert len(results) == 40
    assert store.rejected == 0  # never sent into an exhausted window
    assert store.served == 40
    assert store.windows >= 8  # 40 requests at 5 per window
    assert sends_while_closed(events) == []


async def test_a_429_storm_from_other_apps_is_waited_out(
    serve: Serve, make_client: MakeClient, clock: FakeClock, backoff: Backoff
) -> None:
    # Other apps use 2 requests after each of ours: our view of the window is always stale.
    store = WindowedStore(clock, quota=6, window_s=0.5, other_apps_per_request=2)
    url = await serve(store.app())
    events: list[tuple[str, float, float]] = []
    client = make_client(url, max_attempts=1, limiters=watched_registry(clock, events))
    api = client.store(STORE, TOKEN)

    results = await asyncio.gather(*(api.get_store_info() for _ in range(30)))

    assert len(results) == 30
    assert store.served == 30
    assert store.rejected > 0  # the storm happened
    assert sends_while_closed(events) == []  # nothing sent while the store said none were left
    assert backoff.delays == []  # 429s are not failed attempts (max_attempts=1 still succeeds)


async def test_a_429_without_headers_backs_off_and_then_succeeds(
    serve: Serve, make_client: MakeClient, clock: FakeClock
) -> None:
    calls = 0

    async def overloaded(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls <= 3:
            return web.Response(status=429)
        return web.json_response({"id": STORE, "weight_units": "kg"})

    app = web.Application()
    app.router.add_get(f"/stores/{STORE}/v2/store", overloaded)
    url = await serve(app)
    limiters = RateLimiterRegistry(clock=clock, sleep=clock.sleep, backoff_base_s=0.25)
    api = make_client(url, limiters=limiters).store(STORE, TOKEN)

    await api.get_store_info()

    assert calls == 4
    assert clock.slept == [0.25, 0.5, 1.0]


async def test_endless_429s_give_up_as_unavailable(
    serve: Serve, make_client: MakeClient, clock: FakeClock, backoff: Backoff
) -> None:
    calls = 0

    async def always_limited(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        return web.Response(status=429, headers={"X-Rate-Limit-Time-Reset-Ms": "100"})

    app = web.Application()
    app.router.add_get(f"/stores/{STORE}/v2/store", always_limited)
    url = await serve(app)
    retry = RetryPolicy(max_rate_limited=3, sleep=backoff.sleep)
    api = make_client(url, retry=retry).store(STORE, TOKEN)

    with pytest.raises(Unavailable) as raised:
        await api.get_store_info()

    assert raised.value.status == 429
    assert calls == 4  # the first plus 3 re-sends after waiting


# The docs' example headers (api-rate-limits page), as a fake that copies them sends them on every response.
STATIC_EXAMPLE = {
    "X-Rate-Limit-Requests-Left": "20",
    "X-Rate-Limit-Requests-Quota": "25",
    "X-Rate-Limit-Time-Reset-Ms": "3000",
    "X-Rate-Limit-Time-Window-Ms": "5000",
}


async def never(seconds: float) -> None:
    """A sleep that outlasts any test: a request that waits on it never goes."""
    await asyncio.sleep(3600)


def time_app(clock: FakeClock, headers: dict[str, str]) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        clock.now += 0.01  # each request takes a little time
        return web.json_response({"id": STORE, "weight_units": "kg"}, headers=headers)

    app = web.Application()
    app.router.add_get(f"/stores/{STORE}/v2/store", handle)
    return app


@pytest.mark.parametrize("headers", [STATIC_EXAMPLE, {}], ids=["static-example-headers", "no-headers"])
async def test_a_fake_with_static_or_no_rate_limit_headers_is_never_waited_on(
    serve: Serve, make_client: MakeClient, clock: FakeClock, headers: dict[str, str]
) -> None:
    url = await serve(time_app(clock, headers))
    # the default share (70 %: 8 of 25 left to other apps), and a sleep that would hang the test if used
    limiters = RateLimiterRegistry(clock=clock, sleep=never)
    api = make_client(url, limiters=limiters).store(STORE, TOKEN)

    async def one_by_one() -> list[object]:
        return [await api.get_store_info() for _ in range(30)]

    sequential = await asyncio.wait_for(one_by_one(), 20)
    concurrent = await asyncio.wait_for(asyncio.gather(*(api.get_store_info() for _ in range(30))), 20)

    assert len(sequential) == len(concurrent) == 30


async def test_a_429_with_only_a_standard_retry_after_is_honoured(
    serve: Serve, make_client: MakeClient, clock: FakeClock
) -> None:
    calls = 0

    async def limited_once(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return web.Response(status=429, headers={"Retry-After": "7"})
        return web.json_response({"id": STORE, "weight_units": "kg"})

    app = web.Application()
    app.router.add_get(f"/stores/{STORE}/v2/store", limited_once)
    url = await serve(app)
    limiters = RateLimiterRegistry(clock=clock, sleep=clock.sleep, backoff_base_s=0.25)
    api = make_client(url, limiters=limiters).store(STORE, TOKEN)

    await api.get_store_info()

    assert calls == 2
    assert clock.slept == [7.0]
