"""Keeps a running store poll honest: poll lease held and renewed, channel still active, token unchanged, not stopping."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from common.backoff import Backoff, BackoffFactory
from common.leases import LeaseLostError, RowLease, WallClock

from order_poller.db.schedule import ClaimedChannel, PolledChannelState, release_poll_lease, renew_poll_lease

if TYPE_CHECKING:
    import asyncpg


class ChannelStoppedError(Exception):
    """The poll must end now without another request: disconnected, token changed, lease lost or shutdown."""


def poll_lease(
    pool: asyncpg.Pool,
    channel: ClaimedChannel,
    *,
    owner: str,
    lease_s: float,
    clock: WallClock | None,
    taken_at: float | None = None,
    backoff: BackoffFactory = Backoff,
) -> RowLease[PolledChannelState]:
    """The poll lease the claim took on `channel` (columns of its row), renewed with a re-read of its
    status and grant. `taken_at`: `time.monotonic()` from before the claim's statement (None: now)."""

    async def renew() -> PolledChannelState | None:
        # no driven clock: the lease is counted on the database's clock, like the claim
        lease_until = None if clock is None else clock() + timedelta(seconds=lease_s)
        return await renew_poll_lease(pool, channel.id, owner=owner, lease_until=lease_until, lease_s=lease_s)

    async def release() -> None:
        await release_poll_lease(pool, channel.id, owner=owner)

    return RowLease(
        f"poll/{channel.id}",
        duration_s=lease_s,
        taken_at=time.monotonic() if taken_at is None else taken_at,
        renew=renew,
        release=release,
        backoff=backoff,
    )


class ChannelGuard:
    """Checked before every request group of a poll.

    Renews the poll lease, re-reading status and grant generation in the same statement, at most
    every `recheck_interval_s`, so a disconnect or uninstall stops requests within seconds and an
    erased token is never sent; between renewals the lease's local deadline is checked for free.
    """

    def __init__(
        self,
        lease: RowLease[PolledChannelState],
        grant_generation: int,
        *,
        stopping: asyncio.Event,
        recheck_interval_s: float,
        checked_now: bool = False,
    ) -> None:
        self.lease = lease
        self._grant = grant_generation
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
            if self._stopped is None:
                self._stopped = await self._verdict(loop.time())
        if self._stopped is not None:
            raise ChannelStoppedError(self._stopped)

    async def _verdict(self, now: float) -> str | None:
        # sticky: once stopped, every later check of this poll fails too
        try:
            if self._checked_at is not None and now - self._checked_at < self._interval:
                self.lease.check()
                return None
            await self.lease.renew()
        except LeaseLostError:
            return "the poll lease was taken over or ran out, or the channel is gone"
        self._checked_at = now
        state = self.lease.row
        assert state is not None  # a renewal that held read the row
        if state.status != "active":
            return f"the channel is {state.status}"
        if state.grant_generation != self._grant:
            return "the channel's token changed"
        return None
