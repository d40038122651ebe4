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


def limiter(clock: FakeClock, quota_share: float = 1.0) -> RateLimiter:
    return RateLimiter("abc123", quota_share=quota_share, clock=clock, sleep=clock.sleep)


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


async def test_keeps_the_other_apps_share_of_the_quota(clock: FakeClock) -> None:
    pacing = limiter(clock, quota_share=0.7)
    await pacing.acquire()
    pacing.record(200, headers(left=4, reset_ms=1000, quota=10))

    await pacing.acquire()  # 4 left > 3, the other apps' 30 % of 10
    assert clock.slept == []
    await pacing.acquire()  # 3 left: only the other apps' part remains
    assert clock.slept == [1.0]


@pytest.mark.parametrize(
    ("share", "quota", "ours"), [(0.7, 150, 105), (0.7, 450, 315), (0.5, 150, 75), (1.0, 150, 150)]
)
async def test_at_most_the_share_of_a_window_is_sent_whatever_the_quota(
    clock: FakeClock, share: float, quota: int, ours: int
) -> None:
    pacing = limiter(clock, quota_share=share)
    sent = 0
    while clock.slept == []:
        await pacing.acquire()
        sent += 1
        # BigCommerce's headers count this app's requests down from the quota
        pacing.record(200, headers(left=quota - sent, reset_ms=30000, quota=quota))
    # the request that waited for the next window is not part of this one
    assert sent - 1 == ours


async def test_other_apps_requests_leave_us_less_not_them(clock: FakeClock) -> None:
    pacing = limiter(clock, quota_share=0.7)
    await pacing.acquire()
    # the merchant's other apps already spent 100 of 150: 49 left, 45 of them are theirs
    pacing.record(200, headers(left=49, reset_ms=30000, quota=150))
    for _ in range(4):
        await pacing.acquire()
        pacing.release()
    assert clock.slept == []
    await pacing.acquire()
    assert clock.slept == [30.0]


async def test_a_share_too_small_for_one_request_still_lets_one_through(clock: FakeClock) -> None:
    pacing = limiter(clock, quota_share=0.1)
    await pacing.acquire()
    pacing.record(200, headers(left=1, reset_ms=1000, quota=5))

    # 1 left is the other apps': wait for the next window of 5, where one request is ours
    await pacing.acquire()
    assert clock.slept == [1.0]


def test_a_share_outside_nothing_to_all_is_refused() -> None:
    for share in (0.0, -0.5, 1.01):
        with pytest.raises(ValueError, match="quota share"):
            RateLimiter("abc123", quota_share=share)


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


async def test_idle_stores_are_dropped_and_memory_stays_flat_over_a_cycle(clock: FakeClock) -> None:
    registry = RateLimiterRegistry(clock=clock, sleep=clock.sleep)
    sizes = []
    for index in range(10_000):  # a replica polling store after store, one request each
        pacing = registry.get(f"s{index}")
        await pacing.acquire()
        pacing.record(200, headers(left=149, reset_ms=100))
        clock.now += 0.05
        sizes.append(registry.held())
    # only the stores whose window still runs are kept (about 100 ms worth at one a 50 ms)
    assert max(sizes) <= 4


async def test_a_store_in_flight_blocked_or_inside_its_window_is_kept(clock: FakeClock) -> None:
    registry = RateLimiterRegistry(clock=clock, sleep=clock.sleep)
    in_flight = registry.get("flying")
    await in_flight.acquire()
    blocked = registry.get("blocked")
    await blocked.acquire()
    blocked.record(429, {"X-Rate-Limit-Time-Reset-Ms": "60000"})
    windowed = registry.get("windowed")
    await windowed.acquire()
    windowed.record(200, headers(left=3, reset_ms=30_000))
    clock.now += 10
    for index in range(50):
        registry.get(f"other{index}")

    # the state that paces the next request survives, and is the same object
    assert registry.get("flying") is in_flight
    assert registry.get("blocked") is blocked
    assert registry.get("windowed") is windowed
    assert windowed.left == 3
    clock.now += 61
    in_flight.release()
    for index in range(50):
        registry.get(f"later{index}")
    assert registry.held() == 1


@pytest.mark.parametrize("value", ["soon", ""])
async def test_malformed_headers_are_ignored(clock: FakeClock, value: str) -> None:
    pacing = limiter(clock)
    await pacing.acquire()
    pacing.record(200, {"X-Rate-Limit-Requests-Left": value})
    await pacing.acquire()
    assert clock.slept == []
