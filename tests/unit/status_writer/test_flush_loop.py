"""The flush loop's schedule: flushes start every interval from the first, not an interval after each ends."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from status_writer.service import FlushLoop


class FakeFlusher:
    """Records when each flush started on a driven clock; each flush 'takes' the next duration."""

    def __init__(self, clock: list[float], durations: list[float], stop_after: int) -> None:
        self.stopping = asyncio.Event()
        self._clock = clock
        self._durations = durations
        self._stop_after = stop_after
        self.started: list[float] = []

    async def flush_once(self) -> None:
        self.started.append(self._clock[0])
        self._clock[0] += self._durations[len(self.started) - 1]
        if len(self.started) == self._stop_after:
            self.stopping.set()
        if len(self.started) == 2:
            raise RuntimeError("a failed flush does not stop the loop")

    def stop(self) -> None:
        self.stopping.set()


async def run_loop(durations: list[float], interval_s: float) -> tuple[FakeFlusher, list[float]]:
    now = [100.0]
    waits: list[float] = []
    flusher = FakeFlusher(now, durations, stop_after=len(durations))

    async def wait(stopping: asyncio.Event, timeout_s: float) -> None:
        waits.append(timeout_s)
        now[0] += timeout_s

    loop = FlushLoop(cast(Any, flusher), interval_s, grace_s=1, clock=lambda: now[0], wait=wait)
    async with loop:
        await asyncio.wait_for(flusher.stopping.wait(), 5)
    return flusher, waits


async def test_flushes_start_on_a_fixed_schedule_whatever_they_take() -> None:
    flusher, waits = await run_loop([0.0, 3.0, 7.5, 1.0, 0.0], interval_s=10)

    assert flusher.started == [100.0, 110.0, 120.0, 130.0, 140.0]
    assert waits[:4] == [10.0, 7.0, 2.5, 9.0]


async def test_a_flush_longer_than_the_interval_is_followed_at_once_then_the_schedule_resumes() -> None:
    flusher, waits = await run_loop([0.0, 25.0, 0.0, 0.0], interval_s=10)

    assert flusher.started == [100.0, 110.0, 135.0, 145.0]
    assert waits[:3] == [10.0, 0.0, 10.0]
