"""Retention: personal data after DATA_RETENTION_DAYS, the download memory after its window, one replica at a time."""

from __future__ import annotations

import uuid

import asyncpg
from common.db.outbox import enqueue
from common.events import ChannelConnected
from common.retention import PERSONAL_DATA_LOCK, RetentionPolicy, sweep
from common.settings import ServiceSettings

INSERT_CHANNEL = "INSERT INTO channels (id, store_hash, status) VALUES ($1, $2, 'active')"
INSERT_DESPATCH = """
INSERT INTO despatches (event_id, channel_id, store_hash, order_id, despatched_at, dedupe_key, state, updated_at)
VALUES ($1, $2, 'abc', $3, now(), $4, $5, now() - make_interval(days => $6))
"""


async def add_events(pool: asyncpg.Pool, *, published_days_ago: int | None, count: int = 1) -> None:
    for _ in range(count):
        event = ChannelConnected(channel_id=uuid.uuid4(), store_hash="abc", status="pending")
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn, event)
        if published_days_ago is not None:
            await pool.execute(
                "UPDATE outbox SET published_at = now() - make_interval(days => $2) WHERE event_id = $1",
                event.event_id,
                published_days_ago,
            )


async def add_despatch(
    pool: asyncpg.Pool, channel_id: uuid.UUID, order_id: int, state: str, days_ago: int
) -> None:
    await pool.execute(
        INSERT_DESPATCH, uuid.uuid4(), channel_id, order_id, f"{order_id}|*|*|", state, days_ago
    )


async def test_personal_data_older_than_the_retention_is_deleted_in_batches_and_nothing_pending(
    pool: asyncpg.Pool,
) -> None:
    await add_events(pool, published_days_ago=31, count=5)
    await add_events(pool, published_days_ago=29)
    await add_events(pool, published_days_ago=None)  # unpublished: kept however old
    await pool.execute("UPDATE outbox SET created_at = now() - interval '60 days' WHERE published_at IS NULL")
    channel_id = uuid.uuid4()
    await pool.execute(INSERT_CHANNEL, channel_id, "abc")
    for order_id, state, days_ago in [
        (1, "written", 31),
        (2, "failed", 45),
        (3, "not_written", 31),
        (4, "written", 10),
        (5, "pending", 90),
        (6, "posting", 90),
    ]:
        await add_despatch(pool, channel_id, order_id, state, days_ago)

    deleted = await sweep(pool, RetentionPolicy(retention_days=30, batch_size=2))

    assert deleted is not None
    assert (deleted["outbox"], deleted["despatches"]) == (5, 3)
    assert "downloaded_orders" not in deleted  # this process does not know the download window
    left = await pool.fetch("SELECT published_at IS NULL AS unpublished FROM outbox ORDER BY id")
    assert [r["unpublished"] for r in left] == [False, True]
    states = [r["order_id"] for r in await pool.fetch("SELECT order_id FROM despatches ORDER BY order_id")]
    assert states == [4, 5, 6]


async def test_the_download_memory_outlives_the_window_by_a_margin(pool: asyncpg.Pool) -> None:
    for order_id, days_ago in [(1, 11), (2, 9), (3, 1)]:
        await pool.execute(
            "INSERT INTO downloaded_orders (store_hash, order_id, channel_id, event_id, date_modified, downloaded_at)"
            " VALUES ('abc', $1, $2, $3, now(), now() - make_interval(days => $4))",
            order_id,
            uuid.uuid4(),
            uuid.uuid4(),
            days_ago,
        )
    await pool.execute(
        "INSERT INTO skipped_orders (store_hash, order_id, channel_id, reason, final, date_modified, last_seen_at)"
        " VALUES ('abc', 9, $1, 'digital_order', true, now(), now() - interval '20 days')",
        uuid.uuid4(),
    )

    deleted = await sweep(pool, RetentionPolicy(retention_days=30, order_window_days=7))

    assert deleted is not None
    assert (deleted["downloaded_orders"], deleted["skipped_orders"]) == (1, 1)
    kept = await pool.fetch("SELECT order_id FROM downloaded_orders ORDER BY order_id")
    assert [r["order_id"] for r in kept] == [2, 3]  # 7 days of window + 3 of margin


async def test_change_scan_cursors_older_than_the_window_and_margin_go(pool: asyncpg.Pool) -> None:
    stale, fresh = uuid.uuid4(), uuid.uuid4()
    for channel_id, days_ago in [(stale, 11), (fresh, 1)]:
        await pool.execute(INSERT_CHANNEL, channel_id, f"s{days_ago}")
        await pool.execute(
            "INSERT INTO order_change_scans (channel_id, scan_from) VALUES ($1, now() - make_interval(days => $2))",
            channel_id,
            days_ago,
        )

    deleted = await sweep(pool, RetentionPolicy(retention_days=30, order_window_days=7))

    assert deleted is not None
    assert deleted["order_change_scans"] == 1
    kept = await pool.fetch("SELECT channel_id FROM order_change_scans")
    assert [r["channel_id"] for r in kept] == [fresh]


async def test_only_the_replica_that_takes_the_lock_sweeps(pool: asyncpg.Pool) -> None:
    await add_events(pool, published_days_ago=31)
    async with pool.acquire() as other_replica:
        assert await other_replica.fetchval("SELECT pg_try_advisory_lock($1)", PERSONAL_DATA_LOCK)
        try:
            assert await sweep(pool, RetentionPolicy(retention_days=30)) is None
            assert await pool.fetchval("SELECT count(*) FROM outbox") == 1
        finally:
            await other_replica.execute("SELECT pg_advisory_unlock($1)", PERSONAL_DATA_LOCK)

    assert await sweep(pool, RetentionPolicy(retention_days=30)) == {
        "outbox": 1,
        "despatches": 0,
        "leases": 0,
    }


def test_data_retention_days_defaults_to_the_contracts_30() -> None:
    assert ServiceSettings().data_retention_days == 30
    assert ServiceSettings(data_retention_days=7).data_retention_days == 7
