"""`job_turn`: one replica at a time runs a periodic job; the turn is freed when the job ends or fails."""

from __future__ import annotations

import asyncpg
import pytest
from common.leases import job_turn

KEY = 0x7465_7375  # a key no job uses


async def test_one_replica_gets_the_turn_and_the_next_gets_it_once_the_job_ends(database_url: str) -> None:
    first, second = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    try:
        async with job_turn(first, KEY) as mine:
            assert mine
            async with job_turn(second, KEY) as theirs:
                assert not theirs  # skips this round
        async with job_turn(second, KEY) as theirs:
            assert theirs
    finally:
        await first.close()
        await second.close()


async def failing_job(conn: asyncpg.Connection) -> None:
    async with job_turn(conn, KEY) as mine:
        assert mine
        raise RuntimeError("the job failed")


async def test_a_failing_job_frees_its_turn(database_url: str) -> None:
    first, second = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    try:
        with pytest.raises(RuntimeError, match="the job failed"):
            await failing_job(first)
        async with job_turn(second, KEY) as theirs:
            assert theirs
        # a replica that skipped never unlocks another's turn
        async with job_turn(first, KEY) as mine:
            assert mine
            async with job_turn(second, KEY) as theirs:
                assert not theirs
            assert (
                await first.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
                )
                == 1
            )
    finally:
        await first.close()
        await second.close()
