"""The poller's in-flight limit: Little's law from measured poll times, claims and lateness."""

from __future__ import annotations

import heapq
import random

import pytest
from order_poller.concurrency import PollConcurrency


def test_nothing_measured_means_the_initial_limit() -> None:
    sizing = PollConcurrency(initial=8, ceiling=256)
    sizing.observe_claim(0.0, 50, lateness_s=100.0)
    assert sizing.limit(0.0) == 8


def test_caught_up_it_settles_at_rate_times_poll_time() -> None:
    sizing = PollConcurrency(initial=8, ceiling=256, rate_window_s=30, headroom=1.25)
    for step in range(4000):  # 133 stores fall due a second, each claimed on time
        sizing.observe_claim(step * 0.0075, 1, lateness_s=0.0)
        sizing.observe_poll(0.25)
    # 133.3/s x 0.25 s x 1.25 headroom
    assert sizing.limit(30.0) == 42


def test_lateness_grows_it_up_to_the_ceiling_and_it_comes_back_down() -> None:
    sizing = PollConcurrency(initial=8, ceiling=64, catch_up_s=30)
    for step in range(100):
        sizing.observe_poll(0.5)
        sizing.observe_claim(step * 0.1, 2, lateness_s=60.0)  # behind by a minute
    behind = sizing.limit(10.0)
    assert behind > PollConcurrency(initial=8, ceiling=64).initial
    sizing.observe_claim(10.0, 30, lateness_s=600.0)
    assert sizing.limit(10.0) == 64
    sizing.observe_claim(50.0, 1, lateness_s=0.0)  # caught up, the old claims out of the window
    assert sizing.limit(50.0) == 8


def test_a_replica_just_started_measures_the_rate_over_the_time_it_has() -> None:
    sizing = PollConcurrency(initial=8, ceiling=256, rate_window_s=30, headroom=1.0)
    sizing.observe_poll(0.5)
    for step in range(500):  # 100 a second for 5 s
        sizing.observe_claim(step * 0.01, 1, lateness_s=0.0)
    # 100/s x 0.5 s: not the 500 / 30 s of a window that has not passed yet
    assert sizing.limit(5.0) == 50


@pytest.mark.parametrize("bad", [{"initial": 0}, {"initial": 9, "ceiling": 8}, {"headroom": 0.5}])
def test_bad_bounds_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"need|at least"):
        PollConcurrency(**bad)  # type: ignore[arg-type]


def simulate(stores: int, *, sized: bool, seconds: float, seed: int = 7) -> tuple[list[float], int]:
    """The run loop in simulated time: stores due over 600-900 s intervals, polls taking 200 ms per
    request (one listing, sometimes a second page or a pacing wait). Returns the lateness of every
    claim after the first cycle's start-up, and the largest limit used."""
    rng = random.Random(seed)
    sizing = PollConcurrency(initial=8, ceiling=256 if sized else 8)
    due = [(rng.uniform(0, 750), store) for store in range(stores)]
    heapq.heapify(due)
    running: list[tuple[float, int, float]] = []  # (ends at, store, started)
    now, late, peak = 0.0, [], 0
    while now < seconds:
        limit = sizing.limit(now)
        peak = max(peak, limit)
        claimed = []
        while len(running) + len(claimed) < limit and due and due[0][0] <= now:
            claimed.append(heapq.heappop(due))
        if claimed:
            lateness = max(now - at for at, _ in claimed)
            sizing.observe_claim(now, len(claimed), lateness)
            if now > 120:
                late.extend(now - at for at, _ in claimed)
        for _, store in claimed:
            requests = 1 + (rng.random() < 0.1)
            heapq.heappush(running, (now + 0.2 * requests + rng.uniform(0, 0.05), store, now))
        next_due = due[0][0] if due and len(running) < limit else float("inf")
        next_end = running[0][0] if running else float("inf")
        now = max(now, min(next_due, next_end))
        while running and running[0][0] <= now:
            ended, store, started = heapq.heappop(running)
            sizing.observe_poll(ended - started)
            heapq.heappush(due, (ended + rng.uniform(600, 900), store))
    return late, peak


def test_one_replica_keeps_100000_stores_on_schedule_at_200_ms_a_request() -> None:
    late, peak = simulate(100_000, sized=True, seconds=400)
    late.sort()
    assert late[int(len(late) * 0.95)] < 2.0
    assert late[-1] < 30.0
    assert 8 < peak < 256

    # the fixed limit of old falls further behind every minute: the test can tell them apart
    fixed, _ = simulate(100_000, sized=False, seconds=300)
    assert max(fixed) > 100.0
