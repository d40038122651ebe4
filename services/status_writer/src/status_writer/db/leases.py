"""Per-store flush leases in PostgreSQL: one writer replica flushes a store at a time; expired leases are taken over."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

# Candidates only: the lease below is what makes a claim exclusive. SKIP LOCKED keeps replicas
# scanning at the same moment from queueing behind each other's lease rows.
SELECT_DUE_CHANNELS = """
SELECT c.id
  FROM channels c
 WHERE c.status = 'active'
   AND c.mark_orders_as_despatched
   AND EXISTS (SELECT 1 FROM despatches d
                WHERE d.channel_id = c.id AND d.state IN ('pending', 'posting') AND d.next_attempt_at <= $1)
   AND NOT EXISTS (SELECT 1 FROM status_writer_leases l WHERE l.channel_id = c.id AND l.expires_at > $1)
 ORDER BY c.last_writeback_at NULLS FIRST, c.id
"""


async def select_due_channels(conn: asyncpg.Connection | asyncpg.Pool, now: datetime) -> list[uuid.UUID]:
    """Active channels with despatches due and no live lease, least recently written first."""
    return [r["id"] for r in await conn.fetch(SELECT_DUE_CHANNELS, now)]


# Atomic: a concurrent claim of the same store waits on the row lock, then sees the fresh lease
# and its WHERE fails, so exactly one replica gets a row back.
ACQUIRE_LEASE = """
INSERT INTO status_writer_leases AS l (channel_id, holder, expires_at)
VALUES ($1, $2, $4)
ON CONFLICT (channel_id) DO UPDATE
   SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
 WHERE l.expires_at <= $3 OR l.holder = EXCLUDED.holder
RETURNING channel_id
"""


async def acquire_lease(
    conn: asyncpg.Connection | asyncpg.Pool,
    channel_id: uuid.UUID,
    holder: str,
    *,
    now: datetime,
    expires_at: datetime,
) -> bool:
    """Take the store's lease unless another live holder has it."""
    return await conn.fetchval(ACQUIRE_LEASE, channel_id, holder, now, expires_at) is not None


# One round trip per order: the lease is extended only while the channel may still be written to
# with the grant the flush holds, so a disconnect or a new grant stops the flush within one order.
RENEW_LEASE = """
UPDATE status_writer_leases l SET expires_at = $4
 WHERE l.channel_id = $1 AND l.holder = $2 AND l.expires_at > $3
   AND EXISTS (SELECT 1 FROM channels c
                WHERE c.id = l.channel_id AND c.status = 'active' AND c.mark_orders_as_despatched
                  AND c.grant_generation = $5 AND c.access_token_encrypted IS NOT NULL)
"""


async def renew_lease(
    conn: asyncpg.Connection | asyncpg.Pool,
    channel_id: uuid.UUID,
    holder: str,
    *,
    now: datetime,
    expires_at: datetime,
    grant_generation: int,
) -> bool:
    """Extend a lease still held on a channel still writable with this grant; False means stop."""
    result: str = await conn.execute(RENEW_LEASE, channel_id, holder, now, expires_at, grant_generation)
    return result.endswith(" 1")


RELEASE_LEASE = "DELETE FROM status_writer_leases WHERE channel_id = $1 AND holder = $2"


async def release_lease(conn: asyncpg.Connection | asyncpg.Pool, channel_id: uuid.UUID, holder: str) -> None:
    """Give the store back at once (only if this holder still has it)."""
    await conn.execute(RELEASE_LEASE, channel_id, holder)


async def database_now(conn: asyncpg.Connection | asyncpg.Pool) -> datetime:
    """PostgreSQL's clock: the one despatches are stamped due with (now() on ingest)."""
    value: datetime = await conn.fetchval("SELECT now()")
    return value
