"""Per-store request pacing driven by BigCommerce's rate-limit response headers."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping

import structlog

log = structlog.get_logger(__name__)

MonotonicClock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# When a response says how many requests are left but not when the window resets, look again
# after this long rather than assuming a full 30 s window.
_UNKNOWN_RESET_S = 1.0

# At most this share of a store's quota per window is ours (`BIGCOMMERCE_QUOTA_SHARE`): the quota
# is shared by every app the merchant installed (reference §7), the rest is theirs.
DEFAULT_QUOTA_SHARE = 0.7


def check_quota_share(share: float) -> float:
    """A share of the store's quota: more than nothing, at most all of it."""
    if not 0 < share <= 1:
        raise ValueError(f"the quota share must be above 0 and at most 1, got {share}")
    return share


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(float(raw))
    except ValueError:
        return None


class RateLimiter:
    """The pacing of one store, shared by every task of the process that calls that store.

    All apps on a store share its quota (reference §7), so the limiter leaves a share of each
    window to them (`quota_share` is ours: it sends only while more than the other apps' part of
    the quota is left), never sends while the window says none are left, and blocks the whole
    store after a 429 until the window resets.
    """

    def __init__(
        self,
        store_hash: str,
        *,
        quota_share: float = DEFAULT_QUOTA_SHARE,
        clock: MonotonicClock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 60.0,
    ) -> None:
        self.store_hash = store_hash
        self._quota_share = check_quota_share(quota_share)
        self._clock = clock
        self._sleep = sleep
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self.quota: int | None = None
        # the most requests a response ever said were left: the quota's floor when none is sent
        self._most_left_seen = 0
        self.left: int | None = None  # None: unknown until a response says so
        self.reset_at = 0.0
        self.blocked_until = 0.0
        self.in_flight = 0
        self.window_s = 30.0  # BigCommerce's documented window, until a response says otherwise
        self._guessed = False
        self._consecutive_429 = 0

    async def acquire(self) -> None:
        """Wait until a request may be sent to the store, then take its place in the window."""
        # One waiter at a time: the others queue on the lock behind it, in arrival order,
        # so a reset wakes them one by one instead of all at once.
        async with self._lock:
            while True:
                now = self._clock()
                if now < self.blocked_until:
                    await self._sleep(self.blocked_until - now)
                    continue
                if self.left is not None and now >= self.reset_at:
                    self._roll(now)
                if self.left is None:
                    if self.in_flight == 0:
                        break
                    # Unknown window: one request at a time until a response says where it stands.
                    self._changed.clear()
                    await self._changed.wait()
                    continue
                if self.left > self._effective_reserve():
                    break
                log.info(
                    "bigcommerce_pacing_waited",
                    store_hash=self.store_hash,
                    left=self.left,
                    wait_s=round(self.reset_at - now, 3),
                )
                await self._until_reset_or_news(self.reset_at - now)
            self.in_flight += 1
            if self.left is not None:
                self.left -= 1

    async def _until_reset_or_news(self, seconds: float) -> None:
        """Sleep until the window resets, or less if a response in flight tells us more first.

        A response may report more requests left than we counted down to (another window, or a
        server whose figures do not count down): waiting out the whole window would be needless.
        """
        self._changed.clear()
        if self.in_flight == 0:  # no response can come: nothing to learn before the reset
            await self._sleep(seconds)
            return
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        news = asyncio.ensure_future(self._changed.wait())
        try:
            await asyncio.wait({sleeper, news}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            news.cancel()

    def _roll(self, now: float) -> None:
        """The window we knew is over: guess the new one until a response tells."""
        # Requests still in flight may count in the new window.
        self.left = None if self.quota is None else self.quota - self.in_flight
        self.reset_at = now + self.window_s
        self._guessed = True

    def idle(self) -> bool:
        """Nothing in flight or waiting, no block, no window still running: forgetting this state
        loses nothing that matters (a new limiter sends one request, and the answer tells it all)."""
        now = self._clock()
        return (
            self.in_flight == 0
            and not self._lock.locked()
            and now >= self.blocked_until
            and now >= self.reset_at
        )

    def release(self) -> None:
        """Give back the place of a request that got no response (timeout, connection error)."""
        self.in_flight = max(0, self.in_flight - 1)
        self._changed.set()

    def record(self, status: int, headers: Mapping[str, str]) -> float:
        """Update the window from a response's headers; returns how long the store is now blocked."""
        self.release()
        lowered = {k.lower(): v for k, v in headers.items()}
        now = self._clock()
        quota = _header_int(lowered, "x-rate-limit-requests-quota")
        if quota is not None and quota > 0:
            self.quota = quota
        window_ms = _header_int(lowered, "x-rate-limit-time-window-ms")
        if window_ms is not None and window_ms > 0:
            self.window_s = window_ms / 1000
        if status == 429:
            return self._block(now, lowered)
        self._consecutive_429 = 0
        left = _header_int(lowered, "x-rate-limit-requests-left")
        if left is None:
            return 0.0
        self._most_left_seen = max(self._most_left_seen, left + 1)  # + the request that answered
        reset_ms = _header_int(lowered, "x-rate-limit-time-reset-ms")
        reset_at = now + (reset_ms / 1000 if reset_ms is not None else _UNKNOWN_RESET_S)
        # Requests still in flight may not be counted yet in this response's figure.
        estimate = left - self.in_flight
        newer_window = reset_at > self.reset_at
        if self.left is None or self._guessed or now >= self.reset_at or estimate < self.left or newer_window:
            # Within one window the count only goes down, so a higher figure with the same reset is
            # a stale response. A later reset is a newer window (or a server whose figures never
            # count down): its figure is taken, else we would wait out windows that are not there.
            self.left = estimate
            self.reset_at = reset_at
            self._guessed = False
        return 0.0

    def _block(self, now: float, headers: Mapping[str, str]) -> float:
        self._consecutive_429 += 1
        reset_ms = _header_int(headers, "x-rate-limit-time-reset-ms")
        retry_after_s = _header_int(headers, "x-retry-after")
        if retry_after_s is None:
            # BigCommerce documents X-Retry-After only; a standard Retry-After (seconds) is honoured too
            retry_after_s = _header_int(headers, "retry-after")
        # Repeated 429s back off further, from the second one on.
        repeat = self._consecutive_429 - 1
        penalty = 0.0 if repeat == 0 else self._backoff(repeat)
        if reset_ms is None and retry_after_s is None:
            # No headers: the platform is under load for this store (reference §7).
            wait = self._backoff(self._consecutive_429)
        else:
            # Both present: honour the longer (reference §7).
            wait = max((reset_ms or 0) / 1000, float(retry_after_s or 0), penalty)
        self.blocked_until = max(self.blocked_until, now + wait)
        self.left = 0
        self.reset_at = self.blocked_until  # the newest news of the window
        self._guessed = False
        log.warning(
            "bigcommerce_rate_limited",
            store_hash=self.store_hash,
            wait_s=round(wait, 3),
            consecutive=self._consecutive_429,
        )
        return wait

    def _backoff(self, n: int) -> float:
        return float(min(self._backoff_max_s, self._backoff_base_s * 2 ** (n - 1)))

    def _effective_reserve(self) -> int:
        """Requests of each window left to the store's other apps: the part of the quota not ours.

        The quota comes from BigCommerce's headers; a server that sends none is taken to have as
        many as it ever said were left. However small the share, one request per window is ours.
        """
        quota = self.quota or self._most_left_seen
        ours = max(1, math.floor(quota * self._quota_share + 1e-9))
        return max(0, quota - ours)


class RateLimiterRegistry:
    """One `RateLimiter` per store hash for the whole process; share a single registry.

    A store's limiter is dropped once it is idle and older than every limiter used since, so the
    registry holds the stores being called now, not every store ever called: a replica that polls
    100,000 stores in turn keeps a flat memory.
    """

    def __init__(
        self,
        *,
        quota_share: float = DEFAULT_QUOTA_SHARE,
        clock: MonotonicClock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 60.0,
        factory: Callable[[str], RateLimiter] | None = None,
    ) -> None:
        self._limiters: dict[str, RateLimiter] = {}
        self._factory = factory or (
            lambda store_hash: RateLimiter(
                store_hash,
                quota_share=quota_share,
                clock=clock,
                sleep=sleep,
                backoff_base_s=backoff_base_s,
                backoff_max_s=backoff_max_s,
            )
        )

    def get(self, store_hash: str) -> RateLimiter:
        """The store's limiter, created on first use (or again after it was dropped, idle)."""
        limiter = self._limiters.pop(store_hash, None) or self._factory(store_hash)
        self._limiters[store_hash] = limiter  # insertion order: the least recently used first
        self._drop_idle()
        return limiter

    def held(self) -> int:
        """How many stores' pacing state is kept now (not `__len__`: an empty registry must stay truthy)."""
        return len(self._limiters)

    def _drop_idle(self) -> None:
        # from the least recently used on, up to the first that still matters: O(1) per call, amortized
        while len(self._limiters) > 1:
            oldest = next(iter(self._limiters))
            if not self._limiters[oldest].idle():
                return
            del self._limiters[oldest]
