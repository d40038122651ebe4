"""How many stores one poller replica polls at once: as many as the schedule needs, no more.

By Little's law, keeping up with stores falling due at `rate` per second when one poll takes
`poll_s` seconds (its requests' latency, its store's own pacing, its database work) needs
`rate * poll_s` polls in flight. Both are measured: `poll_s` from finished polls, `rate` from the
stores claimed per second. When the replica is behind, the claims run at its own pace rather than
the schedule's, so the lateness of the stores it claims (how long ago they fell due) tells how far
behind it is: the stores that fell due in that time are still waiting, and the limit grows by the
share of that backlog to clear within `catch_up_s`. Caught up, the lateness is near nothing and the
limit settles at `rate * poll_s`. Each store stays paced by its own rate limiter however many are in
flight: more stores at once never means more requests per window to any one store.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

# How much a new measurement moves the estimate of one poll's duration.
_SMOOTHING = 0.1


@dataclass
class PollConcurrency:
    """The in-flight store limit of one replica: from `initial` up to `ceiling`, sized by Little's law."""

    # stores in flight before anything is measured, and never fewer (POLL_CONCURRENCY)
    initial: int = 8
    # never more stores in flight than this (POLL_CONCURRENCY_MAX)
    ceiling: int = 256
    # a backlog is worked off within about this long
    catch_up_s: float = 30.0
    # claims counted over this long to measure the rate stores fall due
    rate_window_s: float = 30.0
    # spare polls in flight over the bare estimate, for bursts and uneven poll times
    headroom: float = 1.25
    # smoothed duration of one poll; None until one is measured
    poll_s: float | None = None
    # lateness (seconds past due) of the latest claimed store
    lateness_s: float = 0.0
    _claims: deque[tuple[float, int]] = field(default_factory=deque, repr=False)
    _claimed_in_window: int = field(default=0, repr=False)
    # the first claim seen: until a whole window has passed, the rate is over the time since
    _first_claim_at: float | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not 1 <= self.initial <= self.ceiling:
            raise ValueError("the poll concurrency must be at least 1 and at most its ceiling")
        if self.catch_up_s <= 0 or self.rate_window_s <= 0 or self.headroom < 1:
            raise ValueError("need catch_up_s > 0, rate_window_s > 0 and headroom >= 1")

    def observe_poll(self, seconds: float) -> None:
        """One store's poll took this long."""
        seconds = max(0.0, seconds)
        self.poll_s = seconds if self.poll_s is None else self.poll_s + _SMOOTHING * (seconds - self.poll_s)

    def observe_claim(self, at: float, claimed: int, lateness_s: float) -> None:
        """`claimed` stores were claimed at `at` (seconds, any monotonic clock); the first of them
        (the one due longest) fell due `lateness_s` ago."""
        if claimed > 0:
            if self._first_claim_at is None:
                self._first_claim_at = at
            self._claims.append((at, claimed))
            self._claimed_in_window += claimed
            self.lateness_s = max(0.0, lateness_s)
        self._forget_before(at - self.rate_window_s)

    def rate(self, now: float) -> float:
        """Stores claimed per second over the last `rate_window_s` (over the time since the first
        claim, at least a second, while that is shorter: a replica just started sizes up at once)."""
        self._forget_before(now - self.rate_window_s)
        if self._first_claim_at is None:
            return 0.0
        span = min(self.rate_window_s, max(1.0, now - self._first_claim_at))
        return self._claimed_in_window / span

    def limit(self, now: float) -> int:
        """Stores to have in flight now."""
        if self.poll_s is None:
            return self.initial
        backlog_share = self.lateness_s / self.catch_up_s
        needed = math.ceil(self.rate(now) * self.poll_s * (1 + backlog_share) * self.headroom)
        return max(self.initial, min(self.ceiling, needed))

    def _forget_before(self, cutoff: float) -> None:
        while self._claims and self._claims[0][0] < cutoff:
            self._claimed_in_window -= self._claims.popleft()[1]
