"""The next due time: a uniform random interval between the configured bounds."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from order_poller.poller import Poller, PollerConfig

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def poller(config: PollerConfig, seed: int = 3) -> Poller:
    # next_interval_s needs neither the database nor BigCommerce
    unused = cast(Any, None)
    return Poller(unused, unused, unused, config, owner="unit", rng=random.Random(seed))


def test_next_download_is_within_the_interval_and_spread_out() -> None:
    subject = poller(PollerConfig(interval_min_s=600, interval_max_s=900))
    delays = [subject.next_interval_s() for _ in range(2000)]
    assert all(600 <= d <= 900 for d in delays)
    # spread over the whole interval, so thousands of stores never fire at once
    assert min(delays) < 630
    assert max(delays) > 870
    buckets = {int((d - 600) // 30) for d in delays}
    assert buckets == set(range(10))


def test_equal_bounds_give_a_fixed_interval() -> None:
    subject = poller(PollerConfig(interval_min_s=60, interval_max_s=60))
    assert subject.next_interval_s() == 60


@pytest.mark.parametrize(("low", "high"), [(900, 600), (0, 10), (-1, 10)])
def test_bad_interval_is_refused(low: float, high: float) -> None:
    with pytest.raises(ValueError, match="interval"):
        PollerConfig(interval_min_s=low, interval_max_s=high)
