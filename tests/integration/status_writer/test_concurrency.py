"""The flush sizes its stores in flight: grows when the backlog would not be done in time, up to the ceiling."""

from __future__ import annotations

from typing import Any, cast

import asyncpg
from common.crypto import TokenCipher, generate_key
from status_writer.concurrency import FlushConcurrency
from status_writer.flusher import Flusher

from tests.support.status_writer import POLICY, despatch, writer_rig


async def record_one_despatch_per_store(rig: Any, stores: int) -> None:
    for _ in range(stores):
        store_hash, channel_id = await rig.new_channel()
        order = rig.order(store_hash)
        await rig.record(despatch(channel_id, store_hash, order.id))


async def test_a_backlog_that_would_miss_the_target_grows_the_stores_in_flight_to_the_ceiling(
    pool: asyncpg.Pool,
) -> None:
    async with writer_rig(pool) as rig:
        await record_one_despatch_per_store(rig, 12)
        # any measured store time misses a target this short: the flush grows as far as allowed
        sizing = FlushConcurrency(initial=1, ceiling=4, target_s=1e-6)

        report = await rig.writer(concurrency=sizing).flush_once()

        assert report.written == 12
        assert report.peak_in_flight == 4
        assert sizing.store_s is not None


async def test_a_backlog_well_within_the_target_keeps_the_initial_number(pool: asyncpg.Pool) -> None:
    async with writer_rig(pool) as rig:
        await record_one_despatch_per_store(rig, 6)
        sizing = FlushConcurrency(initial=2, ceiling=16, target_s=1e9)

        report = await rig.writer(concurrency=sizing).flush_once()

        assert report.written == 6
        assert report.peak_in_flight == 2


class BusyPool:
    """Only what the sizing reads of an asyncpg pool: its size and how many connections are idle."""

    def __init__(self, size: int, max_size: int, idle: int) -> None:
        self.size, self.max_size, self.idle = size, max_size, idle

    def get_size(self) -> int:
        return self.size

    def get_max_size(self) -> int:
        return self.max_size

    def get_idle_size(self) -> int:
        return self.idle


def test_no_more_stores_start_while_every_database_connection_is_busy() -> None:
    fake = BusyPool(size=10, max_size=10, idle=0)
    sizing = FlushConcurrency(initial=2, ceiling=64, target_s=1e-6)
    sizing.observe(1.0)
    flusher = Flusher(
        cast(asyncpg.Pool, fake),
        cast(Any, None),
        TokenCipher([generate_key()]),
        policy=POLICY,
        concurrency=sizing,
    )

    assert flusher._in_flight_limit(backlog=1000, elapsed_s=10, running=5) == 5  # held where it is
    assert flusher._in_flight_limit(backlog=1000, elapsed_s=10, running=1) == 64  # never below the initial
    fake.idle = 1
    assert flusher._in_flight_limit(backlog=1000, elapsed_s=10, running=5) == 64
    fake.size, fake.idle = 4, 0  # the pool can still open connections
    assert flusher._in_flight_limit(backlog=1000, elapsed_s=10, running=5) == 64
