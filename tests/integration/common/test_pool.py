"""The pool: connections go back clean, only those that held session state pay a reset, and closing never hangs."""

from __future__ import annotations

import asyncpg
from common.db import advisory_locks
from common.db.pool import open_pool

from tests.support.waiting import eventually

KEY = 0x7465_7374  # a key no job uses


async def test_a_plain_connection_goes_back_without_a_statement_of_its_own(database_url: str) -> None:
    async with open_pool(database_url, min_size=1, max_size=1) as pool:
        sent: list[str] = []
        async with pool.acquire() as conn:
            conn.add_query_logger(lambda record: sent.append(record.query))
            await conn.fetchval("SELECT 1")
        # back in the pool (the logger stays on the connection): a reset would have been logged
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 2")
    assert sent == ["SELECT 1", "SELECT 2"]


async def test_a_lock_left_on_a_pooled_connection_is_released_when_it_goes_back(database_url: str) -> None:
    async with open_pool(database_url, min_size=1, max_size=1) as pool:
        async with pool.acquire() as conn:
            assert await advisory_locks.try_lock(conn, KEY)
            # no unlock: a job that died between its lock and its unlock
        other = await asyncpg.connect(database_url)
        try:
            assert await advisory_locks.try_lock(other, KEY)
            await advisory_locks.unlock(other, KEY)
        finally:
            await other.close()
        async with pool.acquire() as conn:
            sent: list[str] = []
            conn.add_query_logger(lambda record: sent.append(record.query))
            await conn.fetchval("SELECT 1")
    assert sent == ["SELECT 1"]  # the full reset ran once, for the connection that held the lock


async def test_an_open_transaction_is_rolled_back_before_reuse(database_url: str) -> None:
    async with open_pool(database_url, min_size=1, max_size=1) as pool:
        async with pool.acquire() as conn:
            await conn.execute("BEGIN")
            await conn.execute("CREATE TEMP TABLE left_open (n int)")
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT to_regclass('pg_temp.left_open')") is None


async def test_closing_does_not_wait_forever_for_a_connection_never_given_back(database_url: str) -> None:
    async with open_pool(database_url, close_timeout_s=0.2) as pool:
        forgotten = await pool.acquire()  # a task that never releases it
        pid = forgotten.get_server_pid()
    assert pool.is_closing()
    admin = await asyncpg.connect(database_url)

    async def cut() -> bool:  # the forgotten connection was cut, not left open on the server
        return await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid) == 0

    try:
        assert await eventually(cut)
    finally:
        await admin.close()
