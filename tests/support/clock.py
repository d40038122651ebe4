"""A driven clock shared by the sandbox, a service and the client's pacing in one test."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime


class FakeTime:
    """One driven clock: UNIX seconds for the sandbox, datetimes for the services, sleeps for pacing.

    It starts an hour ahead of the wall clock, so a time PostgreSQL stamps with now() is never
    later than it. Sleeping advances it: a 429 wait costs no real time.
    """

    def __init__(self) -> None:
        self.seconds = float(int(time.time()) + 3600)

    def __call__(self) -> float:
        return self.seconds

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.seconds, tz=UTC)

    def advance(self, seconds: float) -> None:
        self.seconds += seconds

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)
