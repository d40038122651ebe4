"""Contract tests for fault injection and the request log."""

from __future__ import annotations

import aiohttp
import pytest
from bigcommerce_sandbox import Fault, Sandbox, Store

from .conftest import Api


async def test_status_fault_for_the_next_n_matching_requests(
    store: Store, sandbox: Sandbox, api: Api
) -> None:
    fault = sandbox.faults(store.hash).add(
        Fault(kind="status", status=503, times=2, method="GET", path_pattern=r"/time$")
    )
    statuses = []
    for _ in range(3):
        async with api.request("GET", "/v2/time") as resp:
            statuses.append(resp.status)
    async with api.request("GET", "/v2/store") as resp:
        assert resp.status == 200  # the pattern does not match
    assert statuses == [503, 503, 200]
    assert fault.fired == 2
    assert sandbox.faults(store.hash).active == []


async def test_fault_responses_carry_rate_limit_headers(store: Store, sandbox: Sandbox, api: Api) -> None:
    sandbox.faults(store.hash).add(Fault(kind="status", status=502, times=1))
    async with api.request("GET", "/v2/time") as resp:
        assert resp.status == 502
        assert "X-Rate-Limit-Requests-Left" in resp.headers
        assert (await resp.json())[0]["status"] == 502


async def test_probability_is_seeded_and_fractional(store: Store, sandbox: Sandbox, api: Api) -> None:
    fault = sandbox.faults(store.hash).add(Fault(kind="status", status=500, probability=0.5))
    statuses = []
    for _ in range(40):
        async with api.request("GET", "/v2/time") as resp:
            statuses.append(resp.status)
    assert 0 < statuses.count(500) < 40
    assert fault.fired == statuses.count(500)


async def test_reset_drops_the_connection(store: Store, sandbox: Sandbox, api: Api) -> None:
    # aiohttp retries an idempotent request once on a dropped connection, so the fault
    # stays armed for every request until cleared.
    fault = sandbox.faults(store.hash).add(Fault(kind="reset"))
    with pytest.raises(aiohttp.ClientConnectionError):
        async with api.request("GET", "/v2/time") as resp:
            await resp.read()
    sandbox.faults(store.hash).remove(fault)
    async with api.request("GET", "/v2/time") as resp:
        assert resp.status == 200
    statuses = [r.status for r in sandbox.requests(store.hash)]
    assert statuses[-1] == 200
    assert statuses[:-1] == [None] * fault.fired


async def test_timeout_hangs_until_the_client_gives_up(store: Store, sandbox: Sandbox, api: Api) -> None:
    sandbox.faults(store.hash).add(Fault(kind="timeout", hang_s=30))
    with pytest.raises(TimeoutError):
        async with api.request("GET", "/v2/time", timeout=aiohttp.ClientTimeout(total=0.2)) as r:
            await r.read()
    sandbox.faults(store.hash).clear()
    async with api.request("GET", "/v2/time") as resp:
        assert resp.status == 200


async def test_apply_then_reset_creates_the_shipment_but_the_client_never_hears(
    store: Store, sandbox: Sandbox, api: Api
) -> None:
    order = sandbox.add_order(store.hash)
    sandbox.faults(store.hash).add(
        Fault(kind="apply_then_reset", times=1, method="POST", path_pattern=r"/shipments$")
    )
    body = {
        "order_address_id": order.addresses[0].id,
        "items": [{"order_product_id": order.lines[0].id, "quantity": 1}],
    }
    with pytest.raises(aiohttp.ClientConnectionError):
        async with api.request("POST", f"/v2/orders/{order.id}/shipments", json=body) as resp:
            await resp.read()
    assert len(order.shipments) == 1
    async with api.request("GET", f"/v2/orders/{order.id}/shipments") as resp:
        assert len(await resp.json()) == 1


async def test_apply_then_timeout_applies_the_change(store: Store, sandbox: Sandbox, api: Api) -> None:
    order = sandbox.add_order(store.hash, status_id=9)
    sandbox.faults(store.hash).add(Fault(kind="apply_then_timeout", times=1, method="PUT"))
    with pytest.raises(TimeoutError):
        async with api.request(
            "PUT", f"/v2/orders/{order.id}", json={"status_id": 10}, timeout=aiohttp.ClientTimeout(total=0.2)
        ) as resp:
            await resp.read()
    assert order.status_id == 10


async def test_latency_still_serves_the_request(store: Store, sandbox: Sandbox, api: Api) -> None:
    fault = sandbox.faults(store.hash).add(Fault(kind="latency", delay_s=0.01, times=1))
    async with api.request("GET", "/v2/time") as resp:
        assert resp.status == 200
    assert fault.fired == 1


async def test_faults_can_be_cleared_at_runtime(store: Store, sandbox: Sandbox, api: Api) -> None:
    sandbox.faults(store.hash).add(Fault(kind="status", status=500))
    async with api.request("GET", "/v2/time") as resp:
        assert resp.status == 500
    sandbox.faults(store.hash).clear()
    async with api.request("GET", "/v2/time") as resp:
        assert resp.status == 200


async def test_request_log_records_method_path_status_time(
    store: Store, sandbox: Sandbox, api: Api, clock
) -> None:
    async with api.request("GET", "/v2/orders", params={"status_id": 9}) as resp:
        assert resp.status == 204
    (record,) = sandbox.requests(store.hash)
    assert record.method == "GET"
    assert record.path == "/stores/abc123/v2/orders"
    assert record.query == "status_id=9"
    assert record.status == 204
    assert record.at == clock()
    sandbox.clear_requests(store.hash)
    assert sandbox.requests(store.hash) == []


async def test_login_service_faults(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    sandbox.login_faults.add(Fault(kind="status", status=503, times=1))
    async with http.post(f"{sandbox.login_url}/oauth2/token", json={}) as resp:
        assert resp.status == 503
        assert (await resp.json())["error"] == "server_error"
    async with http.post(f"{sandbox.login_url}/oauth2/token", json={}) as resp:
        assert resp.status == 401  # no client credentials


async def test_bodies_are_gzipped_for_clients_that_accept_it(store: Store, api: Api) -> None:
    async with api.request("GET", "/v2/store", headers={"Accept-Encoding": "gzip"}) as resp:
        assert resp.headers["Content-Encoding"] == "gzip"
        assert (await resp.json())["id"] == store.hash


async def test_an_injected_429_has_no_rate_limit_headers(store: Store, sandbox: Sandbox, api: Api) -> None:
    # The documented "platform under load" 429, unlike the quota's 429 (reference §7).
    sandbox.faults(store.hash).add(Fault(kind="status", status=429, times=1))
    async with api.request("GET", "/v2/time") as resp:
        assert resp.status == 429
        assert not [h for h in resp.headers if h.lower().startswith("x-rate-limit") or "retry" in h.lower()]
    async with api.request("GET", "/v2/time") as resp:
        assert resp.status == 200
        assert "X-Rate-Limit-Requests-Left" in resp.headers


async def test_malformed_http_is_refused_by_the_client_and_applies_nothing(
    store: Store, sandbox: Sandbox, api: Api
) -> None:
    fault = sandbox.faults(store.hash).add(Fault(kind="malformed_http", times=1, method="GET"))
    with pytest.raises(aiohttp.ClientResponseError):
        async with api.request("GET", "/v2/time") as resp:
            await resp.read()
    assert fault.fired == 1
    async with api.request("GET", "/v2/time") as resp:
        assert resp.status == 200
    assert [r.status for r in sandbox.requests(store.hash)] == [None, 200]


async def test_malformed_http_answers_bytes_no_client_can_parse_and_applies_nothing(
    store: Store, sandbox: Sandbox, api: Api
) -> None:
    order = sandbox.add_order(store.hash)
    fault = sandbox.faults(store.hash).add(Fault(kind="malformed_http", method="POST"))
    body = {
        "order_address_id": order.addresses[0].id,
        "items": [{"order_product_id": order.lines[0].id, "quantity": 1}],
    }
    with pytest.raises(aiohttp.ClientResponseError) as raised:
        async with api.request("POST", f"/v2/orders/{order.id}/shipments", json=body) as resp:
            await resp.read()

    assert isinstance(raised.value, aiohttp.ClientError)  # the client's own class: retried as transient
    assert fault.fired == 1
    assert order.shipments == []
    sandbox.faults(store.hash).clear()
    async with api.request("GET", "/v2/time") as resp:
        assert resp.status == 200
