"""Contract tests for `GET /v2/store` and `GET /v2/time`."""

from __future__ import annotations

from bigcommerce_sandbox import ManualClock, Sandbox

from .conftest import Api


async def test_store_information_fields(sandbox: Sandbox, api: Api) -> None:
    store = sandbox.store("abc123")
    store.weight_units = "Ounces"
    async with api.request("GET", "/v2/store") as resp:
        body = await resp.json()
    assert body["id"] == "abc123"
    assert body["name"] == "Zoë's Shop"
    assert body["weight_units"] == "Ounces"
    assert body["plan_name"] == "Standard"
    assert body["country"] == "United Kingdom"
    assert body["country_code"] == "GB"
    assert body["store_id"] == store.store_id
    assert body["currency"] == "GBP"


async def test_time_follows_the_sandbox_clock(api: Api, clock: ManualClock) -> None:
    clock.advance(42)
    async with api.request("GET", "/v2/time") as resp:
        assert await resp.json() == {"time": int(clock())}
