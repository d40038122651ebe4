"""Sizing the stores in flight from one store's measured flush time and the backlog (Little's law)."""

from __future__ import annotations

import pytest
from status_writer.concurrency import FlushConcurrency


def test_before_anything_is_measured_the_initial_number_runs() -> None:
    sizing = FlushConcurrency(initial=8, ceiling=256, target_s=1440)
    assert sizing.wanted(backlog=100_000, elapsed_s=0) == 8


def test_enough_stores_run_to_finish_the_backlog_by_the_target() -> None:
    sizing = FlushConcurrency(initial=8, ceiling=256, target_s=1440)
    sizing.observe(0.6)  # two requests at 200 ms plus the database, say
    # 100,000 stores x 0.6 s in 1,440 s: 41.7, so 42 in flight
    assert sizing.wanted(backlog=100_000, elapsed_s=0) == 42
    # halfway through the time with most still to do: more
    assert sizing.wanted(backlog=80_000, elapsed_s=720) == 67
    # a small backlog never goes below the initial number
    assert sizing.wanted(backlog=10, elapsed_s=0) == 8


def test_the_ceiling_holds_and_past_the_target_it_is_reached() -> None:
    sizing = FlushConcurrency(initial=2, ceiling=50, target_s=1440)
    sizing.observe(2.0)
    assert sizing.wanted(backlog=100_000, elapsed_s=0) == 50
    assert sizing.wanted(backlog=30, elapsed_s=2000) == 30  # late: everything left at once, up to the ceiling
    assert sizing.wanted(backlog=300, elapsed_s=2000) == 50


def test_a_slower_bigcommerce_means_more_stores_in_flight() -> None:
    fast, slow = FlushConcurrency(initial=1, ceiling=1000), FlushConcurrency(initial=1, ceiling=1000)
    for _ in range(20):
        fast.observe(0.05)
        slow.observe(0.5)
    assert slow.wanted(100_000, 0) > 5 * fast.wanted(100_000, 0)


def test_the_estimate_follows_new_measurements_smoothly() -> None:
    sizing = FlushConcurrency(initial=1, ceiling=100)
    sizing.observe(1.0)
    sizing.observe(2.0)
    assert sizing.store_s == pytest.approx(1.2)


@pytest.mark.parametrize(("initial", "ceiling", "target_s"), [(0, 8, 10), (9, 8, 10), (1, 8, 0)])
def test_nonsense_sizes_are_refused(initial: int, ceiling: int, target_s: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        FlushConcurrency(initial=initial, ceiling=ceiling, target_s=target_s)
