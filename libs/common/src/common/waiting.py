"""Waiting with a time limit (for an event, for a queue's next item) without losing a cancellation.

On Python 3.11, `asyncio.wait_for(event.wait(), t)` returns normally when the task is cancelled in
the same turn of the loop as the event is set: the cancellation is swallowed, and a loop that waits
this way keeps running after its owner cancelled it, so a shutdown waiting for it hangs.
The same holds for a queue's `get()`. `asyncio.timeout` does not have that flaw.
"""

from __future__ import annotations

import asyncio
from typing import TypeVar

T = TypeVar("T")


async def wait_for_event(event: asyncio.Event, timeout_s: float) -> bool:
    """Wait until `event` is set or `timeout_s` has passed; whether it is set. A cancellation always
    propagates."""
    try:
        async with asyncio.timeout(timeout_s):
            await event.wait()
    except TimeoutError:
        return event.is_set()
    return True


async def get_within(queue: asyncio.Queue[T], timeout_s: float) -> T | None:
    """The next item of `queue`, or None once `timeout_s` has passed (no item is then taken). A
    cancellation always propagates."""
    try:
        async with asyncio.timeout(timeout_s):
            return await queue.get()
    except TimeoutError:
        return None
