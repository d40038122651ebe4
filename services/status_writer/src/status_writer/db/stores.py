"""Which stores have despatches due and no live flush lease, and whether a store may still be written to."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

FLUSH_LEASE_SCOPE = "status-writer:flush"
"""The `common.leases` scope of a store's flush: one writer replica per store at a time."""

# Candidates only: the lease is what makes a claim exclusive (common.leases).
SELECT_DUE_CHANNELS = """
SELECT c.id
  FROM channels c
 WHERE c.status = 'active'
   AND c.mark_orders_as_despatched
   AND EXISTS (SELECT 1 FROM despatches d
                WHERE d.channel_id = c.id AND d.state IN ('pending', 'posting') AND d.next_attempt_at <= $1)
   AND NOT EXISTS (SELECT 1 FROM leases l
                    WHERE l.scope = $2 AND l.key = c.id AND l.expires_at > $1)
 ORDER BY c.last_writeback_at NULLS FIRST, c.id
"""


async def select_due_channels(conn: asyncpg.Connection | asyncpg.Pool, now: datetime) -> list[uuid.UUID]:
    """Active channels with despatches due and no live lease, least recently written first."""
    return [r["id"] for r in await conn.fetch(SELECT_DUE_CHANNELS, now, FLUSH_LEASE_SCOPE)]


CHANNEL_WRITABLE = """
SELECT EXISTS (SELECT 1 FROM channels
                WHERE id = $1 AND status = 'active' AND mark_orders_as_despatched
                  AND grant_generation = $2 AND access_token_encrypted IS NOT NULL)
"""


async def channel_still_writable(
    conn: asyncpg.Connection | asyncpg.Pool, channel_id: uuid.UUID, grant_generation: int
) -> bool:
    """Still active, still marking orders despatched, still the grant the flush holds (no disconnect)."""
    return bool(await conn.fetchval(CHANNEL_WRITABLE, channel_id, grant_generation))


async def database_now(conn: asyncpg.Connection | asyncpg.Pool) -> datetime:
    """PostgreSQL's clock: the one despatches are stamped due with (now() on ingest)."""
    value: datetime = await conn.fetchval("SELECT now()")
    return value
