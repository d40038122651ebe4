"""Capped exponential backoff with full jitter: the one rule every retry loop of the connector waits by."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

# 2**62 seconds is beyond any cap; clamping the exponent first keeps the arithmetic finite at any attempt count
_MAX_EXPONENT = 62


def capped_delay(attempt: int, *, base_s: float, max_s: float) -> float:
    """`base_s * 2**attempt`, never above `max_s`, for any `attempt` (0 for the first retry).

    The exponent is clamped before the power is taken, so a huge attempt count cannot overflow.
    """
    exponent = min(max(attempt, 0), _MAX_EXPONENT)
    return min(max_s, base_s * float(2**exponent))


@dataclass
class Backoff:
    """Successive waits of one retry loop: full jitter over `capped_delay`; `reset()` after a success.

    `sleep` and `random` are injectable so tests drive the waits instead of spending them.
    """

    base_s: float = 0.5
    max_s: float = 30.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    random: Callable[[], float] = random.random
    attempt: int = field(default=0, init=False)

    def next_delay(self) -> float:
        """The next wait (and counts the attempt): uniform in [0, capped delay], as AWS's full jitter."""
        delay = self.random() * capped_delay(self.attempt, base_s=self.base_s, max_s=self.max_s)
        self.attempt += 1
        return delay

    async def wait(self) -> float:
        """Sleep the next delay; returns it."""
        delay = self.next_delay()
        await self.sleep(delay)
        return delay

    def reset(self) -> None:
        self.attempt = 0


BackoffFactory = Callable[[], Backoff]
"""Makes the backoff of one wait (a loop keeps its own and resets it after a success)."""
