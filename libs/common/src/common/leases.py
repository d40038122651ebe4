"""One replica at a time, with fencing: leases in PostgreSQL, renewed before every request that matters.

A replica acquires a (scope, key) lease and gets a fencing token. Before each external request it
renews the lease; every write that matters embeds `common.db.leases.lease_is_held` in its own
statement, so a replica that stalled past its lease (a GC pause, SIGSTOP, a slow disk) and was taken
over writes nothing more when it wakes: its token no longer holds.

The residual window, which no client-side scheme closes while BigCommerce takes no fencing token or
idempotency key: a replica frozen after its last check but before its request reaches the wire.
The local deadline below narrows it to the few statements between the renewal and the send, and the
next holder reconciles against BigCommerce's own records (shipments) before writing.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import structlog

from common.backoff import Backoff, BackoffFactory
from common.db.errors import SERVER_ERRORS
from common.db.leases import acquire_lease, release_lease, renew_lease
from common.errors import ConnectorError

if TYPE_CHECKING:
    import asyncpg

log = structlog.get_logger(__name__)

WallClock = Callable[[], datetime]
"""The current time, an aware UTC datetime (tests pass a driven one)."""


class LeaseLostError(ConnectorError):
    """This replica no longer holds the lease: stop, write nothing more."""


@dataclass
class Lease:
    """A lease this replica holds: its fencing token and, on the local monotonic clock, until when."""

    leases: Leases
    key: uuid.UUID
    token: int
    # monotonic time the lease is sure to last until: counted from before the statement that set it
    local_deadline: float
    lost: bool = field(default=False)

    @property
    def fence(self) -> tuple[int, datetime | None]:
        """The arguments of `lease_is_held` for a fenced write: (token, the clock's now or None)."""
        return self.token, self.leases.now()

    def check(self) -> None:
        """Raise `LeaseLostError` unless the lease is surely still held now (no database round trip)."""
        if self.lost or time.monotonic() >= self.local_deadline:
            self.lost = True
            raise LeaseLostError(f"lease {self.leases.scope}/{self.key} ran out")

    async def renew(self) -> None:
        """Extend the lease by its full duration, or raise `LeaseLostError`.

        The local deadline counts from before the statement: a replica frozen while renewing
        cannot believe in more time than the database gave it.
        """
        self.check()
        started = time.monotonic()
        expires_at = await renew_lease(
            self.leases.pool, self.token, now=self.leases.now(), duration_s=self.leases.duration_s
        )
        if expires_at is None:
            self.lost = True
            log.warning("lease_lost", scope=self.leases.scope, key=str(self.key), token=self.token)
            raise LeaseLostError(f"lease {self.leases.scope}/{self.key} was taken over or ran out")
        self.local_deadline = started + self.leases.duration_s
        self.check()

    async def release(self) -> None:
        """Hand the lease back (only if this token still holds it), trying through a database failure.

        Released at once, the store is taken up again by the next flush instead of after the lease
        runs out; so a failed release is retried with backoff until it works or the lease has run
        out anyway.
        """
        backoff = self.leases.backoff()
        while True:
            try:
                await release_lease(self.leases.pool, self.token)
                return
            except SERVER_ERRORS:
                if time.monotonic() >= self.local_deadline:
                    return
                await asyncio.sleep(backoff.next_delay())


class Leases:
    """The leases of one scope taken by one replica (`holder`), each lasting `duration_s` when renewed."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        scope: str,
        *,
        holder: str,
        duration_s: float,
        clock: WallClock | None = None,
        backoff: BackoffFactory = Backoff,
    ) -> None:
        self.pool = pool
        self.backoff = backoff
        self.scope = scope
        self.holder = holder
        self.duration_s = duration_s
        # None: the database's now() (production); tests drive a clock shared with the sandbox
        self._clock = clock

    def now(self) -> datetime | None:
        return None if self._clock is None else self._clock()

    async def acquire(self, key: uuid.UUID) -> Lease | None:
        """The lease of `key`, or None while another replica holds it."""
        started = time.monotonic()
        taken = await acquire_lease(
            self.pool, self.scope, key, self.holder, now=self.now(), duration_s=self.duration_s
        )
        if taken is None:
            return None
        token, _ = taken
        return Lease(self, key, token, local_deadline=started + self.duration_s)
