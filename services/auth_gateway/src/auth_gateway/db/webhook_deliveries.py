"""Webhook deliveries already accepted, by payload hash, so a duplicate triggers nothing."""

from __future__ import annotations

import asyncpg

# An expired entry is taken over: the delivery counts as new again.
REMEMBER = """
INSERT INTO webhook_deliveries_seen (store_hash, hash, expires_at)
VALUES ($1, $2, now() + make_interval(secs => $3))
ON CONFLICT (store_hash, hash) DO UPDATE
   SET received_at = now(), expires_at = EXCLUDED.expires_at
 WHERE webhook_deliveries_seen.expires_at < now()
RETURNING hash
"""


async def remember_delivery(
    conn: asyncpg.Connection | asyncpg.Pool, store_hash: str, payload_hash: str, ttl_s: float
) -> bool:
    """Record a delivery; True when it was not seen before (within the time to live)."""
    return await conn.fetchval(REMEMBER, store_hash, payload_hash, ttl_s) is not None


PURGE_EXPIRED = "DELETE FROM webhook_deliveries_seen WHERE expires_at < now()"


async def purge_expired(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    """Drop hashes past their time to live; returns how many."""
    result: str = await conn.execute(PURGE_EXPIRED)
    return int(result.rsplit(" ", 1)[-1])
