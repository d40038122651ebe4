"""PostgreSQL session advisory locks: which replica runs a periodic job, and every key in one list.

A job that one replica at a time should run, and that needs no fencing (the work is idempotent and
a second runner would only repeat it), takes its turn with `common.leases.job_turn`, which uses
these statements; only the migration runner (`common.db.migrate`) takes its lock here directly.
"""

from __future__ import annotations

import asyncpg

from common.db.session_state import mark_session_state

# Every key, so two jobs can never share one by accident.
MIGRATIONS = 0x6263_6D69_6772  # "bcmigr": `connector migrate`, replicas starting together
PERSONAL_DATA_RETENTION = 0x6263_7265_7431  # "bcret1": outbox, despatches, expired leases
DOWNLOAD_MEMORY_RETENTION = 0x6263_7265_7432  # "bcret2": downloaded and skipped orders
WEBHOOK_CHECK = 0x6763_686F_6F6B  # "gchook": the gateway's periodic webhook check

TRY_LOCK = "SELECT pg_try_advisory_lock($1)"
LOCK = "SELECT pg_advisory_lock($1)"
UNLOCK = "SELECT pg_advisory_unlock($1)"


async def try_lock(conn: asyncpg.Connection, key: int) -> bool:
    """Take a session advisory lock if free: the replica that gets it does the job, the others skip it."""
    mark_session_state(conn)  # before: a lock taken by a query that then fails is still released
    return bool(await conn.fetchval(TRY_LOCK, key))


async def lock(conn: asyncpg.Connection, key: int) -> None:
    """Wait for a session advisory lock."""
    mark_session_state(conn)
    await conn.execute(LOCK, key)


async def unlock(conn: asyncpg.Connection, key: int) -> None:
    await conn.execute(UNLOCK, key)
