"""A time budget for a unit of BigCommerce work (one order): retries and rate-limit waits included."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from common.bigcommerce.errors import TimeBudgetExceeded


@asynccontextmanager
async def time_budget(seconds: float, *, store_hash: str, what: str) -> AsyncIterator[None]:
    """Cancel the block after `seconds` and raise `TimeBudgetExceeded` naming `what`.

    Requests in flight are abandoned; a write among them may still have been applied, which is why
    callers record what they send before sending it.
    """
    try:
        async with asyncio.timeout(seconds) as scope:
            yield
    except TimeoutError:
        if not scope.expired():
            raise  # a timeout of something inside, not of the budget
        raise TimeBudgetExceeded(
            f"{what} took longer than its budget of {seconds:g} s",
            store_hash=store_hash,
            method="-",
            path=what,
        ) from None
