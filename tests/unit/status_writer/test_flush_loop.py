"""The flush loop's schedule: fixed starts, retries after a server failure, and death on a bug."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, cast

import pytest
from common.backoff import Backoff
from status_writer.service import FlushLoop


@dataclass
class Report:
    server_failures: int = 0


class FakeFlusher:
    """Records when each flush started on a driven clock; each flush 'takes' the next duration."""

    def __init__(
        self, clock: list[float], durations: list[float], stop_after: int, faults: dict[int, Exception | int]
    ) -> None:
        self.stopping = asyncio.Event()
        self._clock = clock
        self._durations = durations
        self._stop_after = stop_after
        self._faults = faults
        self.started: list[float] = []

    async def flush_once(self) -> Report:
        self.started.append(self._clock[0])
        self._clock[0] += self._durations[len(self.started) - 1]
        if len(self.started) == self._stop_after:
            self.stopping.set()
        fault = self._faults.get(len(self.started))
        if isinstance(fault, Exception):
            raise fault
        return Report(server_failures=fault or 0)

    def stop(self) -> None:
        self.stopping.set()


async def run_loop(
    durations: list[float], interval_s: float, faults: dict[int, Exception | int] | None = None
) -> tuple[FakeFlusher, list[float], FlushLoop]:
    now = [100.0]
    waits: list[float] = []
    flusher = FakeFlusher(now, durations, stop_after=len(durations), faults=faults or {})

    async def wait(stopping: asyncio.Event, timeout_s: float) -> None:
        waits.append(timeout_s)
        now[0] += timeout_s

    def backoff() -> Backoff:
        return Backoff(base_s=1.0, max_s=4.0, random=lambda: 1.0)

    loop = FlushLoop(
        cast(Any, flusher), interval_s, grace_s=1, clock=lambda: now[0], wait=wait, backoff=backoff
    )
    async with loop:
        await asyncio.wait_for(flusher.stopping.wait(), 5)
    return flusher, waits, loop


async def test_flushes_start_on_a_fixed_schedule_whatever_they_take() -> None:
    flusher, waits, _ = await run_loop([0.0, 3.0, 7.5, 1.0, 0.0], interval_s=10)

    assert flusher.started == [100.0, 110.0, 120.0, 130.0, 140.0]
    assert waits[:4] == [10.0, 7.0, 2.5, 9.0]


async def test_a_flush_longer_than_the_interval_is_followed_at_once_then_the_schedule_resumes() -> None:
    flusher, waits, _ = await run_loop([0.0, 25.0, 0.0, 0.0], interval_s=10)

    assert flusher.started == [100.0, 110.0, 135.0, 145.0]
    assert waits[:3] == [10.0, 0.0, 10.0]


async def test_a_database_failure_is_retried_after_a_growing_backoff_not_an_interval() -> None:
    # flush 2 cannot reach the database at all, flush 3 loses one store to it, flush 4 works
    flusher, waits, _ = await run_loop(
        [0.0, 0.0, 0.0, 0.0, 0.0], interval_s=1800, faults={2: ConnectionResetError("cut"), 3: 1}
    )

    assert waits[:4] == [1800.0, 1.0, 2.0, 1797.0]  # the schedule stays: 1900 + 1800
    assert flusher.started[:4] == [100.0, 1900.0, 1901.0, 1903.0]


async def test_a_flush_that_raises_anything_else_ends_the_loop_task() -> None:
    now = [0.0]
    flusher = FakeFlusher(now, [0.0, 0.0], stop_after=99, faults={1: KeyError("a bug")})

    async def wait(stopping: asyncio.Event, timeout_s: float) -> None:
        await asyncio.sleep(0)

    loop = FlushLoop(cast(Any, flusher), 10, grace_s=1, clock=lambda: now[0], wait=wait)
    with pytest.raises(KeyError):
        async with loop:
            await asyncio.sleep(0.05)  # lets the task run its first flush: a step, not a timing
