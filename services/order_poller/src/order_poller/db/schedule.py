"""Which channels are due, who polls them (leases), and the sync health written after each poll."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import asyncpg
from common.redaction import redact_optional
from pydantic import BaseModel, ConfigDict


class ClaimedChannel(BaseModel):
    """A channel this replica now holds the poll lease of, read in the same statement as the claim."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    store_hash: str
    trading_name: str
    order_status_ids: list[int]
    weight_units: str | None
    plan_name: str | None
    access_token_encrypted: bytes
    # which grant the token is (ciphertexts change when keys rotate; this does not)
    grant_generation: int
    # the due time the claim saw: a request_download during the poll changes it and is honoured
    next_download_at: datetime | None
    # due for its scheduled read of the whole window (else claimed only for requested orders)
    window_due: bool = True
    # when orders were last requested as the claim saw it (None: no order request waiting)
    orders_requested_at: datetime | None = None
    # where the change scan (OrderChanged) starts listing modified orders; None: at the window
    changes_scan_from: datetime | None = None
    # how long ago it fell due (0 for a channel due since forever: new or handed back)
    lateness_s: float = 0.0
    # the claim's time on the schedule's clock: the next scheduled poll counts from here
    claimed_at: datetime | None = None

    def __repr__(self) -> str:
        return f"ClaimedChannel(id={self.id}, store_hash={self.store_hash!r})"  # never the token


# SKIP LOCKED: replicas claiming at the same moment take different channels instead of waiting.
# due_at (migration 0041) is when a channel is claimable: due and any lease run out, so a lease
# that has run out (its replica died) is claimable like no lease at all. The partial index on
# (due_at, id) gives the first `limit` rows without reading the others. Without a driven clock ($1
# NULL) the database's now() decides, the clock request_download sets due times with.
CLAIM_DUE = """
WITH clock AS (SELECT COALESCE($1::timestamptz, now()) AS now),
due AS (
    SELECT id
      FROM channels
     WHERE status = 'active'
       AND access_token_encrypted IS NOT NULL
       AND due_at <= (SELECT now FROM clock)
     ORDER BY due_at, id
     LIMIT $2
       FOR UPDATE SKIP LOCKED
)
UPDATE channels AS c
   SET poll_lease_owner = $3,
       poll_lease_until = COALESCE($4::timestamptz, clock.now + make_interval(secs => $5))
  FROM due, clock
 WHERE c.id = due.id
RETURNING c.id, c.store_hash, c.trading_name, c.order_status_ids, c.weight_units, c.plan_name,
          c.access_token_encrypted, c.grant_generation, c.next_download_at,
          (c.next_download_at IS NULL OR c.next_download_at <= clock.now) AS window_due,
          c.orders_requested_at,
          (SELECT s.scan_from FROM order_change_scans s WHERE s.channel_id = c.id) AS changes_scan_from,
          GREATEST(0, EXTRACT(EPOCH FROM clock.now - COALESCE(LEAST(c.next_download_at, c.orders_requested_at),
                                                               clock.now)))::float8 AS lateness_s,
          clock.now AS claimed_at
"""


async def claim_due_channels(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    owner: str,
    now: datetime | None,
    lease_until: datetime | None,
    limit: int,
    lease_s: float = 60.0,
) -> list[ClaimedChannel]:
    """Lease up to `limit` active channels that are due and not leased by a live replica.

    `now` None: the database's clock; `lease_until` None: `lease_s` from that clock.
    """
    if limit <= 0:
        return []
    rows = await conn.fetch(CLAIM_DUE, now, limit, owner, lease_until, lease_s)
    return [ClaimedChannel.model_validate(dict(row)) for row in rows]


class PolledChannelState(BaseModel):
    """The channel as the poll lease's renewal reads it: still active, still the same grant?"""

    model_config = ConfigDict(frozen=True)

    status: str
    grant_generation: int


# Renewing and re-reading status and grant in one statement: a disconnect (token erased) or an
# uninstall stops the poll at its next check.
# Without an explicit end the lease runs `lease_s` from the database's clock, like the claims.
RENEW_POLL_LEASE = """
UPDATE channels SET poll_lease_until = COALESCE($3::timestamptz, now() + make_interval(secs => $4))
 WHERE id = $1 AND poll_lease_owner = $2
RETURNING status, grant_generation
"""


async def renew_poll_lease(
    conn: asyncpg.Connection | asyncpg.Pool,
    channel_id: uuid.UUID,
    *,
    owner: str,
    lease_until: datetime | None,
    lease_s: float,
) -> PolledChannelState | None:
    """Extend our poll lease; None when another replica took it over or the channel is gone."""
    row = await conn.fetchrow(RENEW_POLL_LEASE, channel_id, owner, lease_until, lease_s)
    return None if row is None else PolledChannelState.model_validate(dict(row))


# next_download_at: a value different from the one claimed means a download was requested while
# polling (sync, activation); keep it so the channel is polled again at once. Else it moves to $4
# seconds after the claim ($12, the poll's start: a store is polled once in every interval whatever
# its poll takes; one that outlasted the interval is due again at once; NULL $4: due at once),
# unless the poll did not read the window ($8 false: only requested orders), which leaves the
# schedule as it was. last_download_at is the claim's time too: the window was read as of then, and
# the next poll is due one interval after it.
# orders_requested_at likewise: changed since the claim means new order requests, kept; else $10
# says when the requests still waiting are served: 'again' (at once), 'next' (with the next
# scheduled poll) or 'none' (none wait). One statement, on the database's clock unless $11 drives it.
FINISH_POLL = """
WITH clock AS (SELECT COALESCE($11::timestamptz, now()) AS now)
UPDATE channels
   SET poll_lease_owner = NULL,
       poll_lease_until = NULL,
       next_download_at = CASE WHEN NOT $8 OR next_download_at IS DISTINCT FROM $3 THEN next_download_at
                               WHEN $4::float8 IS NULL THEN NULL
                               ELSE GREATEST(clock.now, COALESCE($12::timestamptz, clock.now)
                                                        + make_interval(secs => $4::float8)) END,
       orders_requested_at = CASE WHEN orders_requested_at IS DISTINCT FROM $9 THEN orders_requested_at
                                  WHEN $10 = 'again' THEN orders_requested_at
                                  WHEN $10 = 'next' THEN clock.now + make_interval(secs => $4::float8)
                                  ELSE NULL END,
       last_download_at = CASE WHEN $5 THEN COALESCE($12::timestamptz, clock.now) ELSE last_download_at END,
       last_download_error = CASE WHEN $7 THEN $6 ELSE last_download_error END,
       updated_at = now()
  FROM clock
 WHERE id = $1 AND poll_lease_owner = $2
"""

OrdersAgain = Literal["again", "next", "none"]


async def finish_poll(
    conn: asyncpg.Connection | asyncpg.Pool,
    channel: ClaimedChannel,
    *,
    owner: str,
    next_in_s: float | None,
    downloaded: bool,
    download_error: str | None,
    write_error: bool = True,
    window_read: bool = True,
    orders_again: OrdersAgain = "none",
    now: datetime | None = None,
) -> bool:
    """Release the lease and record the poll's health; False when the lease was no longer ours.

    `next_in_s`: seconds from the claim to the next scheduled poll (None: due again at once); `downloaded` stamps
    `last_download_at`; `window_read` False keeps the schedule (the poll served requested orders
    only); `orders_again` says when order requests still waiting are served. `now` drives the clock
    in tests (None: the database's).
    """
    result: str = await conn.execute(
        FINISH_POLL,
        channel.id,
        owner,
        channel.next_download_at,
        next_in_s,
        downloaded,
        redact_optional(download_error),
        write_error,
        window_read,
        channel.orders_requested_at,
        orders_again,
        now,
        channel.claimed_at,
    )
    return result.endswith(" 1")


RELEASE_POLL_LEASE = """
UPDATE channels SET poll_lease_owner = NULL, poll_lease_until = NULL
 WHERE id = $1 AND poll_lease_owner = $2
"""


async def release_poll_lease(
    conn: asyncpg.Connection | asyncpg.Pool, channel_id: uuid.UUID, *, owner: str
) -> None:
    """Give an unfinished poll back: the channel stays due, so another replica (or we) redo it."""
    await conn.execute(RELEASE_POLL_LEASE, channel_id, owner)


# When the next channel becomes claimable: the first entry of the claim's index.
SECONDS_TO_NEXT_CLAIMABLE = """
SELECT EXTRACT(EPOCH FROM due_at - COALESCE($1::timestamptz, now()))::float8 FROM channels
 WHERE status = 'active' AND access_token_encrypted IS NOT NULL
 ORDER BY due_at, id
 LIMIT 1
"""


async def seconds_to_next_claimable(
    conn: asyncpg.Connection | asyncpg.Pool, now: datetime | None
) -> float | None:
    """Seconds until the next channel becomes claimable (negative: now), from `now` or the
    database's clock; None when there is no channel. One index read, one statement."""
    value: float | None = await conn.fetchval(SECONDS_TO_NEXT_CLAIMABLE, now)
    return value


SAVE_STORE_INFO = """
UPDATE channels SET weight_units = $2, plan_name = $3, updated_at = now() WHERE id = $1
"""


async def save_store_info(
    conn: asyncpg.Connection | asyncpg.Pool,
    channel_id: uuid.UUID,
    *,
    weight_units: str,
    plan_name: str,
) -> None:
    """Cache the store's weight unit and plan read from /v2/store on the channel."""
    await conn.execute(SAVE_STORE_INFO, channel_id, weight_units, plan_name)
