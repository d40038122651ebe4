"""The BigCommerce client against the sandbox: orders, errors, pacing, retries, shipments, hooks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest
from bigcommerce_sandbox import (
    AddressSpec,
    Fault,
    LineSpec,
    ManualClock,
    RequestRecord,
    Sandbox,
    Store,
    run_sandbox,
)
from common.bigcommerce import (
    BigCommerceClient,
    BigCommerceError,
    InvalidRequest,
    MissingScope,
    NewShipment,
    NewShipmentItem,
    NotFound,
    OAuthExchangeError,
    RateLimiterRegistry,
    ReauthorizationRequired,
    RetryPolicy,
    StoreApi,
    exchange_code,
)

STORE_HASH = "itest1"
START = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
WINDOW_S = 30.0


class DrivenClock:
    """The sandbox's manual clock, moved forward whenever the client's pacing sleeps.

    A real wait for a window lasts far longer than a local request, so time only moves once
    the store's requests in flight have landed.
    """

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.slept: list[float] = []
        self.registries: list[RateLimiterRegistry] = []

    def registry(self, quota_share: float = 1.0) -> RateLimiterRegistry:
        made = RateLimiterRegistry(quota_share=quota_share, clock=self.clock, sleep=self.sleep)
        self.registries.append(made)
        return made

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + 5.0
        while self._in_flight() and loop.time() < give_up:
            await asyncio.sleep(0.001)  # polled with a deadline
        self.clock.advance(max(0.0, seconds))
        await asyncio.sleep(0)

    def _in_flight(self) -> int:
        return sum(r.get(STORE_HASH).in_flight for r in self.registries)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def sandbox(clock: ManualClock) -> AsyncIterator[Sandbox]:
    async with run_sandbox(
        clock=clock, rate_limit_window_s=WINDOW_S, allow_insecure_destinations=True
    ) as served:
        yield served
        await served.close()


@pytest.fixture
def store(sandbox: Sandbox) -> Store:
    # A high quota keeps rate limiting out of the tests that are not about it.
    return sandbox.create_store(STORE_HASH, rate_quota=10_000)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


@pytest.fixture
def driven(clock: ManualClock) -> DrivenClock:
    return DrivenClock(clock)


@pytest.fixture
def retry_delays() -> list[float]:
    return []


@pytest.fixture
def client(
    session: aiohttp.ClientSession, sandbox: Sandbox, driven: DrivenClock, retry_delays: list[float]
) -> BigCommerceClient:
    async def no_sleep(seconds: float) -> None:
        retry_delays.append(seconds)

    return BigCommerceClient(
        session,
        sandbox.api_url,
        client_id=sandbox.config.client_id,
        retry=RetryPolicy(max_attempts=4, sleep=no_sleep, random=lambda: 1.0),
        limiters=driven.registry(),
        timeout=aiohttp.ClientTimeout(total=2, connect=2),
    )


@pytest.fixture
def api(client: BigCommerceClient, sandbox: Sandbox, store: Store) -> StoreApi:
    return client.store(store.hash, sandbox.issue_token(store.hash))


async def eventually(condition: Callable[[], object], deadline_s: float = 5.0) -> None:
    """Poll `condition` until it is truthy, failing after the deadline."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + deadline_s
    while not condition():
        assert loop.time() < give_up, "condition not met before the deadline"
        await asyncio.sleep(0.01)


def log_of(sandbox: Sandbox, path_part: str = "") -> list[RequestRecord]:
    return [r for r in sandbox.requests(STORE_HASH) if path_part in r.path]


async def test_orders_are_paged_past_250_and_end_on_204(
    sandbox: Sandbox, store: Store, api: StoreApi
) -> None:
    for n in range(500):
        sandbox.add_order(store.hash, created=START - timedelta(minutes=n))
    sandbox.add_order(store.hash, status_id=11)  # another status: not listed

    listed = api.iter_listed_orders(status_id=9, min_date_created=START - timedelta(days=1))
    orders = [row.order async for row in listed if row.order is not None]

    assert len(orders) == 500
    assert [o.id for o in orders] == sorted(o.id for o in orders)
    assert all(o.status_id == 9 for o in orders)
    assert [r.status for r in log_of(sandbox, "/v2/orders")] == [200, 200, 204]


@pytest.mark.parametrize("style", ["iso", "rfc2822"])
async def test_date_filters_select_the_same_orders_in_both_formats(
    sandbox: Sandbox, store: Store, api: StoreApi, style: Any
) -> None:
    cutoff = START - timedelta(hours=2)
    old = sandbox.add_order(store.hash, created=cutoff - timedelta(seconds=1))
    edge = sandbox.add_order(store.hash, created=cutoff)
    new = sandbox.add_order(store.hash, created=START)
    # The same instant written at +05:00: sent in UTC with an explicit offset.
    since = cutoff.astimezone(timezone(timedelta(hours=5)))

    got = [
        row.order_id
        async for row in api.iter_listed_orders(status_id=9, min_date_created=since, date_style=style)
    ]

    assert got == [edge.id, new.id]
    assert old.id not in got
    [listing] = log_of(sandbox, "/v2/orders")
    assert "%2B" in listing.query  # the offset's plus sign was encoded, not sent as a space


async def test_an_order_with_its_lines_addresses_and_status_change(
    sandbox: Sandbox, store: Store, api: StoreApi
) -> None:
    order = sandbox.add_order(
        store.hash,
        [LineSpec(name="Mug", quantity=2, address=0), LineSpec(name="Cap", address=1)],
        addresses=[AddressSpec(), AddressSpec(shipping_method="Special Delivery")],
    )

    got = await api.get_order(order.id, include_consignments=True)
    lines = await api.list_order_products(order.id)
    addresses = await api.list_shipping_addresses(order.id)
    updated = await api.update_order_status(order.id, 11)

    assert got.shipping_address_count == 2
    assert got.date_created.tzinfo is not None
    assert got.consignments is not None
    assert len(got.consignments.shipping) == 2
    assert [line.name for line in lines] == ["Mug", "Cap"]
    assert {line.order_address_id for line in lines} == {a.id for a in addresses}
    assert [a.shipping_method for a in addresses][1] == "Special Delivery"
    assert updated is not None
    assert updated.status_id == 11
    assert sandbox.order(store.hash, order.id).status_id == 11
    assert await api.list_shipments(order.id) == []


async def test_store_info(sandbox: Sandbox, store: Store, api: StoreApi) -> None:
    info = await api.get_store_info()

    assert info.id == store.hash
    assert info.weight_units == store.weight_units
    assert info.plan_name == store.plan_name


async def test_errors_are_classified(
    sandbox: Sandbox, store: Store, client: BigCommerceClient, api: StoreApi
) -> None:
    with pytest.raises(NotFound) as missing:
        await api.get_order(999_999)
    assert missing.value.status == 404
    assert missing.value.path == "/v2/orders/999999"

    order = sandbox.add_order(store.hash)
    lines = await api.list_order_products(order.id)
    too_many = NewShipment(
        order_address_id=lines[0].order_address_id,
        items=[NewShipmentItem(order_product_id=lines[0].id, quantity=99)],
    )
    with pytest.raises(InvalidRequest) as invalid:
        await api.create_shipment(order.id, too_many)
    assert invalid.value.status in (400, 422)
    assert invalid.value.message

    with pytest.raises(InvalidRequest) as bad_hook:
        await api.create_hook("store/order/statusUpdated", "")
    assert bad_hook.value.status == 422

    read_only = client.store(store.hash, sandbox.issue_token(store.hash, ["store_v2_default"]))
    with pytest.raises(MissingScope):
        await read_only.get_order(order.id)

    sandbox.revoke_tokens(store.hash)
    with pytest.raises(ReauthorizationRequired):
        await api.get_order(order.id)
    assert [r.status for r in log_of(sandbox)].count(401) == 1  # never retried


async def test_5xx_are_retried_and_501_is_not(
    sandbox: Sandbox, store: Store, api: StoreApi, retry_delays: list[float]
) -> None:
    order = sandbox.add_order(store.hash)
    sandbox.faults(store.hash).add(Fault(kind="status", status=503, times=2, method="GET"))

    got = await api.get_order(order.id)

    assert got.id == order.id
    assert [r.status for r in log_of(sandbox)] == [503, 503, 200]
    assert retry_delays == [1.0, 2.0]

    sandbox.faults(store.hash).add(Fault(kind="status", status=501, times=1))
    with pytest.raises(BigCommerceError) as raised:
        await api.get_order(order.id)
    assert raised.value.status == 501
    assert log_of(sandbox)[-1].status == 501
    assert len(log_of(sandbox)) == 4


async def test_a_dropped_connection_on_a_read_is_retried(
    sandbox: Sandbox, store: Store, api: StoreApi
) -> None:
    order = sandbox.add_order(store.hash)
    sandbox.faults(store.hash).add(Fault(kind="reset", times=1))

    got = await api.get_order(order.id)

    assert got.id == order.id
    assert [r.status for r in log_of(sandbox)] == [None, 200]


@pytest.mark.parametrize("kind", ["apply_then_timeout", "apply_then_reset"])
async def test_a_shipment_post_that_got_no_answer_is_not_duplicated(
    session: aiohttp.ClientSession,
    sandbox: Sandbox,
    store: Store,
    client: BigCommerceClient,
    kind: Any,
) -> None:
    quick = BigCommerceClient(
        session,
        sandbox.api_url,
        retry=client.retry,
        limiters=client.limiters,
        timeout=aiohttp.ClientTimeout(total=0.5),
    )
    api = quick.store(store.hash, sandbox.issue_token(store.hash))
    order = sandbox.add_order(store.hash, [LineSpec(quantity=2)])
    [line] = await api.list_order_products(order.id)
    shipment = NewShipment(
        order_address_id=line.order_address_id,
        items=[NewShipmentItem(order_product_id=line.id, quantity=2)],
        tracking_number="TT123456785GB",
        shipping_provider="royalmail",
    )
    sandbox.faults(store.hash).add(Fault(kind=kind, times=1, method="POST", path_pattern="/shipments$"))

    created = await api.create_shipment(order.id, shipment)

    stored = sandbox.order(store.hash, order.id).shipments
    assert len(stored) == 1
    assert created.id == stored[0].id
    assert created.tracking_number == "TT123456785GB"
    # The dropped POST is logged once the sandbox notices the closed connection.
    await eventually(lambda: [r for r in log_of(sandbox, "/shipments") if r.method == "POST"])
    posts = [r for r in log_of(sandbox, "/shipments") if r.method == "POST"]
    assert len(posts) == 1
    assert posts[0].status is None  # the client never got an answer


async def test_concurrent_requests_keep_within_the_window_and_the_reserve(
    sandbox: Sandbox, store: Store, client: BigCommerceClient, driven: DrivenClock
) -> None:
    sandbox.set_rate_limit(store.hash, 6)
    paced = BigCommerceClient(
        client._session,
        sandbox.api_url,
        retry=client.retry,
        limiters=driven.registry(quota_share=0.7),
    )
    token = sandbox.issue_token(store.hash)
    order = sandbox.add_order(store.hash)
    apis = [paced.store(store.hash, token) for _ in range(24)]  # many tasks, one shared limiter

    got = await asyncio.gather(*(a.get_order(order.id) for a in apis))

    assert len(got) == 24
    records = log_of(sandbox)
    assert [r.status for r in records].count(429) == 0
    per_window = requests_per_window(records)
    assert max(per_window) <= 4  # 70 % of 6: the rest was left to other apps
    assert len(per_window) >= 6


async def test_a_standard_store_gets_at_most_our_share_of_each_window_from_its_headers(
    sandbox: Sandbox, store: Store, client: BigCommerceClient, driven: DrivenClock
) -> None:
    sandbox.set_rate_limit(store.hash, 150)  # Standard & Plus: 150 per 30 s (reference §7)
    paced = BigCommerceClient(
        client._session, sandbox.api_url, retry=client.retry, limiters=driven.registry(quota_share=0.7)
    )
    token = sandbox.issue_token(store.hash)
    order = sandbox.add_order(store.hash)
    apis = [paced.store(store.hash, token) for _ in range(8)]

    async def many(api: StoreApi) -> None:
        for _ in range(40):
            await api.get_order(order.id)

    await asyncio.gather(*(many(a) for a in apis))

    records = log_of(sandbox)
    assert len(records) == 320
    assert [r.status for r in records].count(429) == 0
    per_window = requests_per_window(records)
    assert max(per_window) <= 105  # 70 % of 150: 45 of each window left to the merchant's other apps
    assert max(per_window) >= 100  # and the share is used, not wasted
    assert len(per_window) >= 4


async def test_a_429_storm_is_waited_out_without_sending_into_the_closed_window(
    session: aiohttp.ClientSession, sandbox: Sandbox, store: Store, api: StoreApi
) -> None:
    sandbox.set_rate_limit(store.hash, 5)
    order = sandbox.add_order(store.hash)
    # Another app on the same store uses the whole window first.
    other = {"X-Auth-Token": sandbox.issue_token(store.hash), "Accept": "application/json"}
    for _ in range(5):
        async with session.get(f"{sandbox.api_url}/stores/{store.hash}/v2/time", headers=other) as r:
            assert r.status == 200
    sandbox.clear_requests(store.hash)

    got = await asyncio.gather(*(api.get_order(order.id) for _ in range(30)))

    assert len(got) == 30
    statuses = [r.status for r in log_of(sandbox)]
    # One request learnt that the window was spent; nothing more was sent until it reset.
    assert statuses.count(429) == 1
    assert statuses[0] == 429
    assert statuses.count(200) == 30
    closed_until = log_of(sandbox)[0].at + WINDOW_S
    assert all(r.at >= closed_until for r in log_of(sandbox)[1:])


async def test_a_429_without_quota_news_backs_off(
    sandbox: Sandbox, store: Store, api: StoreApi, driven: DrivenClock
) -> None:
    order = sandbox.add_order(store.hash)
    sandbox.faults(store.hash).add(Fault(kind="status", status=429, times=3))

    got = await api.get_order(order.id)

    assert got.id == order.id
    assert [r.status for r in log_of(sandbox)] == [429, 429, 429, 200]
    assert driven.slept  # waited before each re-send


async def test_hooks_round_trip(sandbox: Sandbox, store: Store, api: StoreApi) -> None:
    destination = "http://127.0.0.1:9/bigcommerce/webhooks"

    hook = await api.create_hook("store/order/statusUpdated", destination, {"X-Webhook-Token": "s3"})
    listed = await api.list_hooks()
    paused = await api.update_hook(hook.id, is_active=False)
    await api.delete_hook(hook.id)

    assert [h.id for h in listed] == [hook.id]
    assert hook.headers == {"X-Webhook-Token": "s3"}
    assert paused.is_active is False
    assert sandbox.hooks_for(store.hash) == []
    with pytest.raises(NotFound):
        await api.delete_hook(hook.id)


async def test_the_install_code_is_exchanged_for_a_working_token(
    session: aiohttp.ClientSession, sandbox: Sandbox, store: Store, client: BigCommerceClient
) -> None:
    callback = sandbox.authorize(store.hash)

    grant = await exchange_code(
        session,
        login_url=sandbox.login_url,
        client_id=sandbox.config.client_id,
        client_secret=sandbox.config.client_secret,
        code=callback.code,
        scope=callback.scope,
        context=callback.context,
        redirect_uri=sandbox.config.auth_callback_url,
    )

    assert grant.store_hash == store.hash
    assert {"store_v2_orders", "store_v2_information_read_only"} <= grant.scope
    info = await client.store(grant.store_hash, grant.access_token).get_store_info()
    assert info.id == store.hash

    with pytest.raises(OAuthExchangeError) as refused:  # a code works once
        await exchange_code(
            session,
            login_url=sandbox.login_url,
            client_id=sandbox.config.client_id,
            client_secret=sandbox.config.client_secret,
            code=callback.code,
            scope=callback.scope,
            context=callback.context,
            redirect_uri=sandbox.config.auth_callback_url,
        )
    assert sandbox.config.client_secret not in str(refused.value)
    assert refused.value.status is not None


def requests_per_window(records: list[RequestRecord]) -> list[int]:
    """Requests in each rate-limit window, windows opening as the sandbox opens them."""
    counts: list[int] = []
    window_end = float("-inf")
    for record in records:
        if record.at >= window_end:
            window_end = record.at + WINDOW_S
            counts.append(0)
        counts[-1] += 1
    return counts
