"""The per-store limiter on its own, driven by a fake clock."""

from __future__ import annotations

import asyncio

import pytest
from common.bigcommerce import RateLimiter, RateLimiterRegistry

from .conftest import FakeClock


def headers(left: int, reset_ms: int, quota: int = 150) -> dict[str, str]:
    return {
        "X-Rate-Limit-Requests-Left": str(left),
        "X-Rate-Limit-Time-Reset-Ms": str(reset_ms),
        "X-Rate-Limit-Requests-Quota": str(quota),
        "X-Rate-Limit-Time-Window-Ms": "30000",
    }


def limiter(clock: FakeClock, reserve: int = 0) -> RateLimiter:
    return RateLimiter("abc123", reserve=reserve, clock=clock, sleep=clock.sleep)


async def learned(clock: FakeClock, left: int) -> RateLimiter:
    """A limiter that has seen one response with `left` requests left in a 5 s window."""
    pacing = limiter(clock)
    await pacing.acquire()
    pacing.record(200, headers(left=left, reset_ms=5000))
    return pacing


async def test_first_request_goes_at_once(clock: FakeClock) -> None:
    pacing = limiter(clock)
    await pacing.acquire()
    assert clock.slept == []


async def test_waits_for_the_reset_when_the_window_has_none_left(clock: FakeClock) -> None:
    pacing = limiter(clock)
    await pacing.acquire()
    pacing.record(200, headers(left=0, reset_ms=2500))
    start = clock.now

    await pacing.acquire()

    assert clock.now >= start + 2.5


async def test_keeps_the_reserve_for_other_apps(clock: FakeClock) -> None:
    pacing = limiter(clock, reserve=3)
    await pacing.acquire()
    pacing.record(200, headers(left=4, reset_ms=1000, quota=10))

    await pacing.acquire()  # 4 left > 3 reserved
    assert clock.slept == []
    await pacing.acquire()  # 3 left: only the reserve remains
    assert clock.slept == [1.0]


async def test_a_reserve_as_large_as_the_quota_still_lets_one_through(clock: FakeClock) -> None:
    pacing = limiter(clock, reserve=50)
    await pacing.acquire()
    pacing.record(200, headers(left=1, reset_ms=1000, quota=5))

    # 1 left is within the reserve: wait for the next window of 5, where the reserve is
    # capped at 4 so that one request goes.
    await pacing.acquire()
    assert clock.slept == [1.0]


async def test_a_429_blocks_the_store_until_the_longer_of_reset_and_retry_after(
    clock: FakeClock,
) -> None:
    pacing = limiter(clock)
    await pacing.acquire()
    start = clock.now
    wait = pacing.record(
        429, {"X-Rate-Limit-Time-Reset-Ms": "1500", "X-Retry-After": "4", "X-Rate-Limit-Requests-Left": "0"}
    )

    assert wait == 4.0
    await pacing.acquire()
    assert clock.now >= start + 4.0


async def test_a_429_without_headers_backs_off_further_each_time(clock: FakeClock) -> None:
    pacing = RateLimiter("abc123", clock=clock, sleep=clock.sleep, backoff_base_s=0.5)
    waits = []
    for _ in range(4):
        await pacing.acquire()
        waits.append(pacing.record(429, {}))

    assert waits == [0.5, 1.0, 2.0, 4.0]
    await pacing.acquire()
    pacing.record(200, {})
    await pacing.acquire()
    assert pacing.record(429, {}) == 0.5  # a success resets the backoff


async def test_a_stale_higher_count_does_not_reopen_the_window(clock: FakeClock) -> None:
    pacing = await learned(clock, left=10)
    await pacing.acquire()
    await pacing.acquire()
    pacing.record(200, headers(left=0, reset_ms=3000))
    pacing.record(200, headers(left=2, reset_ms=3000))  # answered earlier, delivered later
    start = clock.now

    await pacing.acquire()

    assert clock.now >= start + 3.0


async def test_requests_in_flight_count_against_what_is_left(clock: FakeClock) -> None:
    pacing = await learned(clock, left=10)
    await pacing.acquire()
    await pacing.acquire()  # still in flight when the first answer comes back
    pacing.record(200, headers(left=1, reset_ms=1000))

    await pacing.acquire()

    assert clock.slept == [1.0]


async def test_while_the_window_is_unknown_only_one_request_probes_it(clock: FakeClock) -> None:
    pacing = limiter(clock)
    await pacing.acquire()
    second = asyncio.create_task(pacing.acquire())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert not second.done()

    pacing.record(200, headers(left=10, reset_ms=1000))
    await asyncio.wait_for(second, timeout=5)
    assert pacing.in_flight == 1


async def test_a_lost_response_releases_its_place(clock: FakeClock) -> None:
    pacing = limiter(clock)
    await pacing.acquire()
    second = asyncio.create_task(pacing.acquire())
    await asyncio.sleep(0)

    pacing.release()  # e.g. a timeout

    await asyncio.wait_for(second, timeout=5)
    assert pacing.in_flight == 1


def test_the_registry_shares_one_limiter_per_store(clock: FakeClock) -> None:
    registry = RateLimiterRegistry(clock=clock, sleep=clock.sleep)

    assert registry.get("abc123") is registry.get("abc123")
    assert registry.get("abc123") is not registry.get("def456")
    first = registry.get("abc123")
    registry.forget("abc123")
    assert registry.get("abc123") is not first


@pytest.mark.parametrize("value", ["soon", ""])
async def test_malformed_headers_are_ignored(clock: FakeClock, value: str) -> None:
    pacing = limiter(clock)
    await pacing.acquire()
    pacing.record(200, {"X-Rate-Limit-Requests-Left": value})
    await pacing.acquire()
    assert clock.slept == []
