"""Injectable clocks: the sandbox reads time only through a `UnixClock` (UNIX seconds) so tests can drive it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

UnixClock = Callable[[], float]
"""Returns UNIX seconds, like `time.time`."""


def system_clock() -> float:
    """The real wall clock."""
    return time.time()


class ManualClock:
    """A clock that only moves when a test tells it to."""

    def __init__(self, start: float | datetime = 1_764_000_000.0) -> None:
        self.now = start.timestamp() if isinstance(start, datetime) else float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`."""
        self.now += seconds

    def set(self, when: float | datetime) -> None:
        """Jump to an absolute time."""
        self.now = when.timestamp() if isinstance(when, datetime) else float(when)


def to_datetime(seconds: float) -> datetime:
    """UNIX seconds as an aware UTC datetime, whole seconds like BigCommerce dates."""
    return datetime.fromtimestamp(int(seconds), tz=UTC)
