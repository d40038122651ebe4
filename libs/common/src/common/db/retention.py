"""Deleting what is kept no longer, in small batches, each a short statement of its own."""

from __future__ import annotations

import asyncpg

# Each statement deletes at most $2 rows older than $1 days and returns how many it deleted.
# Rows are picked in primary-key order (old rows come first), so a batch finds them quickly without
# an index the hot path (publishing, ingest) would pay for.
PURGE_PUBLISHED_OUTBOX = """
DELETE FROM outbox WHERE id IN (
    SELECT id FROM outbox
     WHERE published_at < now() - make_interval(days => $1)
     ORDER BY id LIMIT $2)
"""
PURGE_FINISHED_DESPATCHES = """
DELETE FROM despatches WHERE id IN (
    SELECT id FROM despatches
     WHERE state IN ('written', 'failed', 'not_written') AND updated_at < now() - make_interval(days => $1)
     ORDER BY id LIMIT $2)
"""
PURGE_DOWNLOADED_ORDERS = """
DELETE FROM downloaded_orders WHERE ctid IN (
    SELECT ctid FROM downloaded_orders WHERE downloaded_at < now() - make_interval(days => $1) LIMIT $2)
"""
PURGE_SKIPPED_ORDERS = """
DELETE FROM skipped_orders WHERE ctid IN (
    SELECT ctid FROM skipped_orders WHERE last_seen_at < now() - make_interval(days => $1) LIMIT $2)
"""
# A channel's change-scan cursor older than the window is no use: the next scan starts at the
# window anyway (a channel disconnected for a week, say). A fresh one is written by the next scan.
PURGE_CHANGE_SCANS = """
DELETE FROM order_change_scans WHERE channel_id IN (
    SELECT channel_id FROM order_change_scans WHERE scan_from < now() - make_interval(days => $1) LIMIT $2)
"""


async def purge_batch(
    conn: asyncpg.Connection, statement: str, *, older_than_days: int, batch_size: int
) -> int:
    """Run one purge statement; returns how many rows it deleted."""
    result: str = await conn.execute(statement, older_than_days, batch_size)
    return int(result.rsplit(" ", 1)[-1])
