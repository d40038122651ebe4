"""BigCommerce-style per-store request quota over a fixed window (reference §7)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bigcommerce_sandbox.clock import UnixClock


@dataclass
class _Window:
    started_at: float
    used: int


@dataclass(frozen=True)
class RateDecision:
    """The outcome for one request and the headers that describe the store's quota."""

    allowed: bool
    quota: int
    left: int
    window_ms: int
    reset_ms: int

    def headers(self) -> dict[str, str]:
        """Headers sent on every API response; `X-Retry-After` only when refused."""
        headers = {
            "X-Rate-Limit-Time-Window-Ms": str(self.window_ms),
            "X-Rate-Limit-Time-Reset-Ms": str(self.reset_ms),
            "X-Rate-Limit-Requests-Quota": str(self.quota),
            "X-Rate-Limit-Requests-Left": str(self.left),
        }
        if not self.allowed:
            headers["X-Retry-After"] = str(max(1, math.ceil(self.reset_ms / 1000)))
        return headers


class RateLimiter:
    """Counts requests per store in windows of `window_s` seconds read from `clock`.

    A window opens with the first request after the previous one ended; the quota then
    refreshes in full when it ends, which is what the reset header announces.
    """

    def __init__(self, clock: UnixClock, window_s: float = 30.0) -> None:
        self._clock = clock
        self.window_s = window_s
        self._windows: dict[str, _Window] = {}

    def check(self, store_hash: str, quota: int) -> RateDecision:
        """Count one request for `store_hash` against `quota` and decide."""
        now = self._clock()
        window = self._windows.get(store_hash)
        if window is None or now >= window.started_at + self.window_s:
            window = _Window(started_at=now, used=0)
            self._windows[store_hash] = window
        reset_ms = max(0, math.ceil((window.started_at + self.window_s - now) * 1000))
        allowed = window.used < quota
        if allowed:
            window.used += 1
        return RateDecision(
            allowed=allowed,
            quota=quota,
            left=max(0, quota - window.used),
            window_ms=int(self.window_s * 1000),
            reset_ms=reset_ms,
        )

    def reset(self, store_hash: str | None = None) -> None:
        """Forget the current window of one store (or of all)."""
        if store_hash is None:
            self._windows.clear()
        else:
            self._windows.pop(store_hash, None)
