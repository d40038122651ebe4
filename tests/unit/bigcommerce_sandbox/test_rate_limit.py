"""Contract tests for rate limiting: headers on every response, 429, window reset by the clock."""

from __future__ import annotations

import aiohttp
from bigcommerce_sandbox import ManualClock, Sandbox, run_sandbox

from .conftest import APP

HEADERS = (
    "X-Rate-Limit-Time-Window-Ms",
    "X-Rate-Limit-Time-Reset-Ms",
    "X-Rate-Limit-Requests-Quota",
    "X-Rate-Limit-Requests-Left",
)


async def test_every_response_carries_the_headers(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    sandbox.create_store("rl1")
    token = sandbox.issue_token("rl1")
    base = f"{sandbox.api_url}/stores/rl1"
    for path, headers, expected in (
        ("/v2/time", {"X-Auth-Token": token}, 200),
        ("/v2/orders/1", {"X-Auth-Token": token}, 404),
        ("/v2/time", {}, 401),
    ):
        async with http.get(base + path, headers=headers) as resp:
            assert resp.status == expected
            assert all(name in resp.headers for name in HEADERS)
            assert resp.headers["X-Rate-Limit-Requests-Quota"] == "150"  # Standard plan
            assert resp.headers["X-Rate-Limit-Time-Window-Ms"] == "30000"


async def test_quota_is_exhausted_then_refreshed_by_the_clock(
    sandbox: Sandbox, clock: ManualClock, http: aiohttp.ClientSession
) -> None:
    sandbox.create_store("rl2", rate_quota=3)
    token = sandbox.issue_token("rl2")
    url = f"{sandbox.api_url}/stores/rl2/v2/time"
    lefts = []
    for _ in range(3):
        async with http.get(url, headers={"X-Auth-Token": token}) as resp:
            lefts.append(resp.headers["X-Rate-Limit-Requests-Left"])
    assert lefts == ["2", "1", "0"]
    clock.advance(10)
    async with http.get(url, headers={"X-Auth-Token": token}) as resp:
        assert resp.status == 429
        assert resp.headers["X-Rate-Limit-Time-Reset-Ms"] == "20000"
        assert resp.headers["X-Retry-After"] == "20"
        assert resp.headers["X-Rate-Limit-Requests-Left"] == "0"
    clock.advance(20)
    async with http.get(url, headers={"X-Auth-Token": token}) as resp:
        assert resp.status == 200
        assert resp.headers["X-Rate-Limit-Requests-Left"] == "2"
        assert "X-Retry-After" not in resp.headers


async def test_quota_follows_the_plan_and_can_be_changed(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    sandbox.create_store("pro1", plan_name="Pro")
    token = sandbox.issue_token("pro1")
    url = f"{sandbox.api_url}/stores/pro1/v2/time"
    async with http.get(url, headers={"X-Auth-Token": token}) as resp:
        assert resp.headers["X-Rate-Limit-Requests-Quota"] == "450"
    sandbox.set_rate_limit("pro1", 1)
    async with http.get(url, headers={"X-Auth-Token": token}) as resp:
        assert resp.status == 429


async def test_the_window_length_is_configurable(http: aiohttp.ClientSession) -> None:
    clock = ManualClock()
    async with run_sandbox(app=APP, clock=clock, rate_limit_window_s=2.0) as sandbox:
        sandbox.create_store("short", rate_quota=1)
        token = sandbox.issue_token("short")
        url = f"{sandbox.api_url}/stores/short/v2/time"
        async with http.get(url, headers={"X-Auth-Token": token}) as resp:
            assert resp.headers["X-Rate-Limit-Time-Window-Ms"] == "2000"
        async with http.get(url, headers={"X-Auth-Token": token}) as resp:
            assert resp.status == 429
        clock.advance(2)
        async with http.get(url, headers={"X-Auth-Token": token}) as resp:
            assert resp.status == 200


async def test_stores_have_separate_quotas(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    for name in ("s1", "s2"):
        sandbox.create_store(name, rate_quota=1)
    for name in ("s1", "s2"):
        token = sandbox.issue_token(name)
        async with http.get(
            f"{sandbox.api_url}/stores/{name}/v2/time", headers={"X-Auth-Token": token}
        ) as resp:
            assert resp.status == 200
