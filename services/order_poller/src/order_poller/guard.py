"""Keeps a running store poll honest: lease renewed, channel still active, token unchanged, not stopping."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from order_poller.db.schedule import LeaseState, renew_lease

if TYPE_CHECKING:
    import asyncpg


class ChannelStoppedError(Exception):
    """The poll must end now without another request: disconnected, token changed, lease lost or shutdown."""


class ChannelGuard:
    """Checked before every request group of a poll.

    Re-reads status and grant generation (and renews the lease) at most every `recheck_interval_s`, so a
    disconnect or uninstall stops requests within seconds and an erased token is never sent.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        channel_id: uuid.UUID,
        grant_generation: int,
        *,
        owner: str,
        lease_s: float,
        clock: Callable[[], datetime] | None,
        stopping: asyncio.Event,
        recheck_interval_s: float,
        checked_now: bool = False,
    ) -> None:
        self._pool = pool
        self._channel_id = channel_id
        self._grant = grant_generation
        self._owner = owner
        self._lease_s = lease_s
        self._clock = clock
        self._stopping = stopping
        self._interval = recheck_interval_s
        # True when the caller has just read status and grant and set the lease (the claim)
        self._checked_at: float | None = asyncio.get_running_loop().time() if checked_now else None
        self._stopped: str | None = None
        self._lock = asyncio.Lock()

    async def check(self) -> None:
        """Raise `ChannelStoppedError` when this poll must not send another request."""
        if self._stopping.is_set():
            raise ChannelStoppedError("the poller is shutting down")
        loop = asyncio.get_running_loop()
        async with self._lock:  # the poll's concurrent order tasks share one re-read
            if self._stopped is None and (
                self._checked_at is None or loop.time() - self._checked_at >= self._interval
            ):
                # no driven clock: the lease is counted on the database's clock, like the claim
                lease_until = (
                    None if self._clock is None else self._clock() + timedelta(seconds=self._lease_s)
                )
                state = await renew_lease(
                    self._pool,
                    self._channel_id,
                    owner=self._owner,
                    lease_until=lease_until,
                    lease_s=self._lease_s,
                )
                self._checked_at = loop.time()
                self._stopped = self._verdict(state)
        if self._stopped is not None:
            raise ChannelStoppedError(self._stopped)

    def _verdict(self, state: LeaseState) -> str | None:
        # sticky: once stopped, every later check of this poll fails too
        if not state.held:
            return "the poll lease was taken over or the channel is gone"
        if state.status != "active":
            return f"the channel is {state.status}"
        if state.grant_generation != self._grant:
            return "the channel's token changed"
        return None
