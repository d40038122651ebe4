"""Every "one replica at a time" need of the connector, in one module: three kinds, one vocabulary.

- `FencedLease` (table `leases`, from `FencedLeases.acquire`): per-store work whose writes must
  never be done twice, the writer's flush. Each lease gets a fencing token; every write that matters
  embeds `common.db.leases.lease_is_held` in its own statement, so a replica that stalled past its
  lease (a GC pause, SIGSTOP, a slow disk) and was taken over writes nothing more when it wakes.
- `RowLease`: a lease kept in columns of the row it guards and taken in the statement that picks
  the row, the poller's poll lease on `channels`. The claim picks due stores and leases them in one
  indexed statement (`channels.due_at` includes the lease's end), so a poll pays no statement of its
  own for the lease; the storage is the service's, the handling here. It needs no fencing: the
  unique keys of what a poll writes (`downloaded_orders`, the outbox's event ids) decide exactly-once.
- `job_turn` (session advisory locks, `common.db.advisory_locks`): a periodic job that one replica at
  a time should run and whose work is idempotent (retention, the webhook check); nothing to renew.

A held lease (fenced or row) knows on the local monotonic clock until when it surely holds, counted
from before the statement that set it: `check()` is free, `renew()` extends it in the database and
makes it lost for good when the database says another replica has it, and `release()` hands it back
through a database outage until it has run out anyway (`release_once()`: one attempt, for a holder
that must not wait).

The residual window, which no client-side scheme closes while BigCommerce takes no fencing token or
idempotency key: a replica frozen after its last check but before its request reaches the wire.
The local deadline narrows it to the few statements between the renewal and the send, and the next
holder reconciles against BigCommerce's own records (shipments) before writing.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Generic, TypeVar

import structlog

from common.backoff import Backoff, BackoffFactory
from common.db.advisory_locks import try_lock, unlock
from common.db.errors import SERVER_ERRORS
from common.db.leases import acquire_lease, release_lease, renew_lease
from common.errors import ConnectorError

if TYPE_CHECKING:
    import asyncpg

log = structlog.get_logger(__name__)

Row = TypeVar("Row")

WallClock = Callable[[], datetime]
"""The current time, an aware UTC datetime (tests pass a driven one)."""


class LeaseLostError(ConnectorError):
    """This replica no longer holds the lease: stop, write nothing more."""


class HeldLease(ABC):
    """A lease this replica holds: until when it surely does, renewal, and hand-back."""

    def __init__(
        self, name: str, *, duration_s: float, taken_at: float, backoff: BackoffFactory = Backoff
    ) -> None:
        self.name = name
        self.duration_s = duration_s
        # monotonic time the lease is sure to last until: counted from before the statement that set it
        self.local_deadline = taken_at + duration_s
        self.lost = False
        self._backoff = backoff

    def check(self) -> None:
        """Raise `LeaseLostError` unless the lease is surely still held now (no database round trip)."""
        if self.lost or time.monotonic() >= self.local_deadline:
            self.lost = True
            raise LeaseLostError(f"lease {self.name} ran out")

    async def renew(self) -> None:
        """Extend the lease by its full duration, or raise `LeaseLostError` (and stay lost).

        The local deadline counts from before the statement: a replica frozen while renewing
        cannot believe in more time than the database gave it.
        """
        self.check()
        started = time.monotonic()
        if not await self._renew_in_database():
            self.lost = True
            log.warning("lease_lost", lease=self.name)
            raise LeaseLostError(f"lease {self.name} was taken over or ran out")
        self.local_deadline = started + self.duration_s
        self.check()

    async def release_once(self) -> None:
        """Hand the lease back (only if still ours) with one statement; a database failure is raised.

        For a holder that must not wait for the database (the poller's poll ends at once, and the
        lease it could not hand back runs out by itself)."""
        await self._release_in_database()

    async def release(self) -> None:
        """Hand the lease back (only if still ours), trying through a database failure.

        Released at once, the work is taken up again by the next round instead of after the lease
        runs out; so a failed release is retried with backoff until it works or the lease has run
        out anyway.
        """
        backoff = self._backoff()
        while True:
            try:
                await self._release_in_database()
                return
            except SERVER_ERRORS:
                if time.monotonic() >= self.local_deadline:
                    return
                await asyncio.sleep(backoff.next_delay())

    @abstractmethod
    async def _renew_in_database(self) -> bool:
        """Extend the lease where it is stored; False when this replica no longer holds it."""

    @abstractmethod
    async def _release_in_database(self) -> None:
        """Clear the lease where it is stored, if this replica still holds it."""


class FencedLease(HeldLease):
    """A lease of the `leases` table: its fencing token guards every write that matters."""

    def __init__(self, leases: FencedLeases, key: uuid.UUID, token: int, *, taken_at: float) -> None:
        super().__init__(
            f"{leases.scope}/{key}", duration_s=leases.duration_s, taken_at=taken_at, backoff=leases.backoff
        )
        self.leases = leases
        self.key = key
        self.token = token

    @property
    def fence(self) -> tuple[int, datetime | None]:
        """The arguments of `lease_is_held` for a fenced write: (token, the clock's now or None)."""
        return self.token, self.leases.now()

    async def _renew_in_database(self) -> bool:
        expires_at = await renew_lease(
            self.leases.pool, self.token, now=self.leases.now(), duration_s=self.duration_s
        )
        return expires_at is not None

    async def _release_in_database(self) -> None:
        await release_lease(self.leases.pool, self.token)


class FencedLeases:
    """The fenced leases of one scope taken by one replica (`holder`), each lasting `duration_s` when renewed."""

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

    async def acquire(self, key: uuid.UUID) -> FencedLease | None:
        """The lease of `key`, or None while another replica holds it."""
        started = time.monotonic()
        taken = await acquire_lease(
            self.pool, self.scope, key, self.holder, now=self.now(), duration_s=self.duration_s
        )
        if taken is None:
            return None
        token, _ = taken
        return FencedLease(self, key, token, taken_at=started)


class RowLease(HeldLease, Generic[Row]):
    """A lease kept in columns of the row it guards, taken by the statement that picked the row.

    The service's `db` module writes the statements: `renew` extends the lease and returns the row's
    state read in the same statement (None when another replica holds it or the row is gone), and
    `release` clears it. `row` is the state the last renewal read.
    """

    def __init__(
        self,
        name: str,
        *,
        duration_s: float,
        taken_at: float,
        renew: Callable[[], Awaitable[Row | None]],
        release: Callable[[], Awaitable[None]],
        backoff: BackoffFactory = Backoff,
    ) -> None:
        super().__init__(name, duration_s=duration_s, taken_at=taken_at, backoff=backoff)
        self._renew = renew
        self._release = release
        self.row: Row | None = None

    async def _renew_in_database(self) -> bool:
        self.row = await self._renew()
        return self.row is not None

    async def _release_in_database(self) -> None:
        await self._release()


@asynccontextmanager
async def job_turn(conn: asyncpg.Connection, key: int) -> AsyncIterator[bool]:
    """Whether this replica runs the job now: True while it holds the job's session advisory lock.

    False when another replica is running it (skip this round). Keys are listed in
    `common.db.advisory_locks`. The lock is freed on leaving, and with the session if the
    connection dies mid-job.
    """
    mine = await try_lock(conn, key)
    try:
        yield mine
    finally:
        if mine:
            await unlock(conn, key)
