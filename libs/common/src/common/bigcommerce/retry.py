"""Retry policy of the BigCommerce client: attempts, exponential backoff with full jitter."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from random import random as _uniform

from common.bigcommerce.pacing import Sleep


def is_retryable_status(status: int) -> bool:
    """5xx except 501 and 505, which are persistent (reference §7): retrying cannot help."""
    return status >= 500 and status not in (501, 505)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry; `sleep` and `random` are injectable for tests.

    A 429 is not a failed attempt (the limiter waits for the reset), up to `max_rate_limited`
    429s per call. Writes wait longer between attempts than reads (reference §7).
    """

    max_attempts: int = 5
    read_backoff_s: float = 1.0
    write_backoff_s: float = 5.0
    max_backoff_s: float = 60.0
    max_rate_limited: int = 20
    sleep: Sleep = asyncio.sleep
    random: Callable[[], float] = _uniform

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def delay(self, attempt: int, *, write: bool) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based): full jitter."""
        base = self.write_backoff_s if write else self.read_backoff_s
        return self.random() * min(self.max_backoff_s, base * 2.0 ** (attempt - 1))
