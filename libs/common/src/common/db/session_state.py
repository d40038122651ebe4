"""Which pooled connections hold session state, so only those pay for a full reset on release.

asyncpg resets every connection returned to a pool with one statement (unlock every advisory lock,
close cursors, UNLISTEN, RESET ALL): a transaction of its own on every release, which doubled the
poller's transactions per poll. The connector keeps no session state on pooled connections except
the session advisory locks of its periodic jobs (`advisory_locks`), so a connection gets the full
reset only when such a lock was taken on it. An open transaction is always rolled back by asyncpg
itself, before any reset.
"""

from __future__ import annotations

import asyncpg

# Backend process ids, unique on the server while their connection lives; an id left over from a
# connection that died only costs a later connection with the same id one needless full reset.
_NEEDS_FULL_RESET: set[int] = set()


def mark_session_state(conn: asyncpg.Connection) -> None:
    """Give this connection the full reset when it goes back to its pool."""
    _NEEDS_FULL_RESET.add(conn.get_server_pid())


async def reset_pooled_connection(conn: asyncpg.Connection) -> None:
    """The pool's reset: the full reset for a connection that held session state, else nothing."""
    pid = conn.get_server_pid()
    if pid in _NEEDS_FULL_RESET:
        _NEEDS_FULL_RESET.discard(pid)
        await conn.execute(conn.get_reset_query())
