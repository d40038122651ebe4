"""The benchmark's arithmetic: percentiles, the busiest rate-limit window, /proc CPU, replicas."""

from __future__ import annotations

import math

import pytest

from bench.measure import (
    busiest_window,
    cpu_seconds,
    percentile,
    polls_per_second,
    replicas_needed,
    window_share,
)
from bench.rig import metric_sum


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert percentile(values, 50) == 3.0
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 5.0
    assert percentile(values, 95) == pytest.approx(4.8)


def test_percentile_of_nothing_is_nan_and_q_is_checked() -> None:
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0], 101)


def test_busiest_window_slides_instead_of_using_aligned_windows() -> None:
    # aligned 30 s windows would count 3 + 3; the window starting at 25 holds all six
    times = [0.0, 25.0, 27.0, 29.0, 31.0, 33.0, 54.0, 100.0]
    assert busiest_window(times, 30.0) == (6, 25.0)


def test_busiest_window_excludes_its_end() -> None:
    # [0, 30) does not hold a request at 30: a window is 30 s long, not 30 s and one instant
    assert busiest_window([0.0, 10.0, 30.0], 30.0) == (2, 0.0)


def test_busiest_window_of_no_requests() -> None:
    assert busiest_window([], 30.0) == (0, None)
    with pytest.raises(ValueError, match="positive"):
        busiest_window([1.0], 0)


def test_window_share_is_a_fraction_of_the_quota() -> None:
    assert window_share(105, 150) == pytest.approx(0.7)
    with pytest.raises(ValueError, match="positive"):
        window_share(1, 0)


def test_cpu_seconds_reads_utime_and_stime_after_a_command_with_spaces() -> None:
    # fields 14 and 15 (utime, stime) are 250 and 150 ticks; the name holds ") " to mislead a split
    line = "4242 (post gres) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 1 0 12345 1000 10"
    assert cpu_seconds(line, 100) == pytest.approx(4.0)


def test_replicas_round_up_and_are_at_least_one() -> None:
    assert replicas_needed(100_000, 40_000) == 3
    assert replicas_needed(10, 40_000) == 1
    assert polls_per_second(100_000) == pytest.approx(133.33, rel=1e-3)


def test_metric_sum_adds_every_labelled_sample_of_one_name() -> None:
    text = "\n".join(
        [
            "# HELP order_poller_polls_total Polls.",
            'order_poller_polls_total{outcome="ok"} 12.0',
            'order_poller_polls_total{outcome="failed"} 3.0',
            "order_poller_polls_created 1.7e9",
            "order_poller_polls_total_other 99.0",
        ]
    )
    assert metric_sum(text, "order_poller_polls_total") == 15.0
