"""The lease table's SQL: acquire with a new fencing token, renew, release, and the fence other writes embed."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

# Times are the database's now() unless the caller passes a driven clock's (tests); the duration is
# added on the same clock, so a lease never mixes two clocks.
ACQUIRE = """
INSERT INTO leases AS l (scope, key, holder, token, expires_at)
VALUES ($1, $2, $3, nextval('lease_fencing_tokens'),
        COALESCE($4::timestamptz, now()) + make_interval(secs => $5))
ON CONFLICT (scope, key) DO UPDATE
   SET holder = EXCLUDED.holder, token = EXCLUDED.token, expires_at = EXCLUDED.expires_at
 WHERE l.expires_at <= COALESCE($4::timestamptz, now())
RETURNING token, expires_at
"""


async def acquire_lease(
    conn: asyncpg.Connection | asyncpg.Pool,
    scope: str,
    key: uuid.UUID,
    holder: str,
    *,
    now: datetime | None,
    duration_s: float,
) -> tuple[int, datetime] | None:
    """(token, expires_at) of a new lease, or None while another holder's lease is live.

    Atomic: a concurrent claim waits on the row lock, then sees the fresh lease and its WHERE
    fails, so exactly one replica gets a row back.
    """
    row = await conn.fetchrow(ACQUIRE, scope, key, holder, now, duration_s)
    return None if row is None else (row["token"], row["expires_at"])


RENEW = """
UPDATE leases SET expires_at = COALESCE($2::timestamptz, now()) + make_interval(secs => $3)
 WHERE token = $1 AND expires_at > COALESCE($2::timestamptz, now())
RETURNING expires_at
"""


async def renew_lease(
    conn: asyncpg.Connection | asyncpg.Pool, token: int, *, now: datetime | None, duration_s: float
) -> datetime | None:
    """The new expiry; None when the lease ran out or was taken over (its token no longer holds)."""
    value: datetime | None = await conn.fetchval(RENEW, token, now, duration_s)
    return value


RELEASE = "DELETE FROM leases WHERE token = $1"


async def release_lease(conn: asyncpg.Connection | asyncpg.Pool, token: int) -> None:
    """Give the lease back at once (a no-op when it was taken over meanwhile)."""
    await conn.execute(RELEASE, token)


def lease_is_held(token_param: int, now_param: int) -> str:
    """An SQL condition for a fenced write: the lease with token `$token_param` is still unexpired at `$now_param`.

    Embedded in the write's own statement, so the check and the write are one atomic step.
    """
    return (
        f"EXISTS (SELECT 1 FROM leases WHERE token = ${token_param}"
        f" AND expires_at > COALESCE(${now_param}::timestamptz, now()))"
    )


PURGE_EXPIRED = "DELETE FROM leases WHERE expires_at < now() - make_interval(secs => $1)"


async def purge_expired_leases(conn: asyncpg.Connection | asyncpg.Pool, *, older_than_s: float) -> int:
    """Forget leases that ran out long ago (a replica died holding them, or the channel is gone)."""
    result: str = await conn.execute(PURGE_EXPIRED, older_than_s)
    return int(result.rsplit(" ", 1)[-1])
