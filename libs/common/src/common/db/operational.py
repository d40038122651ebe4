"""Counts an operator alerts on, read from the database (no per-store detail leaves this module)."""

from __future__ import annotations

import asyncpg

from common.db.channels import ChannelStatus

COUNT_CHANNELS_BY_STATUS = "SELECT status, count(*) AS channels FROM channels GROUP BY status"

# An active store is overdue when its last clean poll (or, never polled, its connection) is older
# than the threshold: polls that keep failing do not count as downloads.
COUNT_OVERDUE_STORES = """
SELECT count(*) FROM channels
 WHERE status = 'active'
   AND coalesce(last_download_at, connected_at, created_at) < now() - $1 * interval '1 second'
"""

# Only active channels: a channel waiting for reauthorization holds its despatches on purpose and
# has an alert of its own.
OLDEST_PENDING_DESPATCH_AGE = """
SELECT coalesce(EXTRACT(EPOCH FROM now() - min(d.created_at)), 0)
  FROM despatches d JOIN channels c ON c.id = d.channel_id
 WHERE d.state IN ('pending', 'posting') AND c.status = 'active'
"""


async def count_channels_by_status(pool: asyncpg.Pool) -> dict[ChannelStatus, int]:
    """How many channels are in each status (statuses with none are absent)."""
    rows = await pool.fetch(COUNT_CHANNELS_BY_STATUS)
    return {row["status"]: int(row["channels"]) for row in rows}


async def count_overdue_stores(pool: asyncpg.Pool, threshold_s: float) -> int:
    """Active stores not downloaded cleanly within `threshold_s` seconds."""
    return int(await pool.fetchval(COUNT_OVERDUE_STORES, threshold_s))


async def oldest_pending_despatch_age_s(pool: asyncpg.Pool) -> float:
    """Seconds since the oldest despatch still to be written to an active store arrived; 0 if none."""
    return float(await pool.fetchval(OLDEST_PENDING_DESPATCH_AGE))
