"""`wait_for_event`: a time-limited wait that never swallows its task's cancellation."""

from __future__ import annotations

import asyncio

import pytest
from common.waiting import get_within, wait_for_event


async def test_the_event_or_the_time_limit_ends_the_wait() -> None:
    event = asyncio.Event()
    assert not await wait_for_event(event, 0.01)
    event.set()
    assert await wait_for_event(event, 10)


async def test_a_cancellation_in_the_same_turn_as_the_event_is_not_swallowed() -> None:
    # asyncio.wait_for on Python 3.11 returns normally here, and the loop waiting that way runs on
    event = asyncio.Event()
    waiting = asyncio.create_task(wait_for_event(event, 10))
    await asyncio.sleep(0)
    await asyncio.sleep(0)

    event.set()
    waiting.cancel()

    with pytest.raises(asyncio.CancelledError):
        await waiting


async def test_a_queue_item_is_returned_or_left_in_the_queue() -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    assert await get_within(queue, 0.01) is None
    queue.put_nowait(7)
    assert await get_within(queue, 10) == 7
    assert queue.empty()


async def test_a_cancellation_in_the_same_turn_as_an_item_arrives_is_not_swallowed() -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    waiting = asyncio.create_task(get_within(queue, 10))
    await asyncio.sleep(0)
    await asyncio.sleep(0)

    queue.put_nowait(7)
    waiting.cancel()

    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert queue.get_nowait() == 7  # not taken by the cancelled wait
