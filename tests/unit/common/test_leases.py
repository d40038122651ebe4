"""The handling every held lease shares (`common.leases.HeldLease`), driven through a `RowLease`."""

from __future__ import annotations

import time

import pytest
from common.backoff import Backoff
from common.leases import LeaseLostError, RowLease


class Row:
    """Where a row lease lives, as its statements see it: who holds it, and the row's state."""

    def __init__(self) -> None:
        self.held = True
        self.state = "active"
        self.renewals = 0
        self.releases = 0
        self.release_failures = 0

    async def renew(self) -> str | None:
        self.renewals += 1
        return self.state if self.held else None

    async def release(self) -> None:
        if self.release_failures:
            self.release_failures -= 1
            raise ConnectionRefusedError("the database is failing over")
        self.releases += 1
        self.held = False


def lease_on(row: Row, *, taken_s_ago: float = 0.0, duration_s: float = 60.0) -> RowLease[str]:
    return RowLease(
        "poll/store",
        duration_s=duration_s,
        taken_at=time.monotonic() - taken_s_ago,
        renew=row.renew,
        release=row.release,
        backoff=lambda: Backoff(random=lambda: 0.0),  # retries at once: no time spent
    )


async def test_a_lease_within_its_duration_checks_for_free_and_renews_with_the_rows_state() -> None:
    row = Row()
    lease = lease_on(row, taken_s_ago=30)

    lease.check()
    assert row.renewals == 0
    await lease.renew()

    assert row.renewals == 1
    assert lease.row == "active"
    # counted again from the renewal, not from the claim
    assert lease.local_deadline > time.monotonic() + 59


async def test_a_replica_frozen_past_its_lease_stops_without_asking_the_database() -> None:
    row = Row()  # nobody else has taken it yet: the local deadline alone decides
    lease = lease_on(row, taken_s_ago=61)

    with pytest.raises(LeaseLostError, match="ran out"):
        lease.check()
    with pytest.raises(LeaseLostError):
        await lease.renew()

    assert row.renewals == 0
    assert lease.lost


async def test_a_lease_taken_over_stays_lost() -> None:
    row = Row()
    lease = lease_on(row)
    row.held = False  # another replica's claim

    with pytest.raises(LeaseLostError, match="taken over"):
        await lease.renew()
    row.held = True  # whatever the row says later, this holder is done
    with pytest.raises(LeaseLostError):
        lease.check()
    with pytest.raises(LeaseLostError):
        await lease.renew()
    assert row.renewals == 1


async def test_release_is_retried_through_a_database_failure() -> None:
    row = Row()
    row.release_failures = 3
    lease = lease_on(row)

    await lease.release()

    assert (row.releases, row.held) == (1, False)


async def test_release_gives_up_once_the_lease_has_run_out_anyway() -> None:
    row = Row()
    row.release_failures = 1_000
    lease = lease_on(row, taken_s_ago=61)

    await lease.release()  # returns: the lease ends by itself

    assert row.releases == 0
    assert row.release_failures == 999  # tried once
