"""How many stores one writer replica flushes at once: enough to finish the backlog in time, no more.

By Little's law, finishing `backlog` stores in `time_left` seconds when one store takes `store_s`
seconds (its requests' latency, its own pacing waits, its database work) needs
`backlog * store_s / time_left` stores in flight. `store_s` is measured, so the same replica runs
few stores at once against a fast BigCommerce and many against a slow one. Each store stays paced
by its own rate limiter whatever the number in flight: more stores at once never means more
requests per window to any one store.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# How much a new measurement moves the estimate of one store's flush time.
_SMOOTHING = 0.2


@dataclass
class FlushConcurrency:
    """The in-flight store limit of one replica: from `initial` up to `ceiling`, sized to finish by `target_s`."""

    # stores in flight before any store's flush time is measured, and never fewer
    initial: int = 8
    # never more stores in flight than this (FLUSH_CONCURRENCY_MAX)
    ceiling: int = 8
    # a flush should be over this long after it starts (a share of the flush interval)
    target_s: float = 1440.0
    # smoothed duration of one store's flush; None until one is measured
    store_s: float | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.initial <= self.ceiling:
            raise ValueError("the flush concurrency must be at least 1 and at most its ceiling")
        if self.target_s <= 0:
            raise ValueError("the flush's target duration must be positive")

    def observe(self, seconds: float) -> None:
        """One store's flush took this long."""
        seconds = max(0.0, seconds)
        self.store_s = (
            seconds if self.store_s is None else self.store_s + _SMOOTHING * (seconds - self.store_s)
        )

    def wanted(self, backlog: int, elapsed_s: float) -> int:
        """Stores to have in flight with `backlog` stores left (running ones included) `elapsed_s` into a flush."""
        if self.store_s is None or backlog <= 0:
            return self.initial
        # past the target, or nearly: as many as allowed, so the flush ends as soon as it can
        time_left = max(self.target_s - elapsed_s, self.store_s, 1e-3)
        needed = math.ceil(backlog * self.store_s / time_left)
        return max(self.initial, min(self.ceiling, needed))
