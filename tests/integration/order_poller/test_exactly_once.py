"""Each order is published once: across polls, a crash before relaying, racing replicas and reinstalls."""

from __future__ import annotations

import asyncio

import asyncpg
from aio_pika.abc import AbstractQueue
from common.outbox import OutboxRelay
from order_poller.db.schedule import claim_due_channels

from tests.support.order_poller import (
    Rig,
    add_channel,
    downloaded_ids,
    outbox_rows,
    probe_is_empty,
    received_events,
)


async def test_an_order_written_but_not_relayed_is_published_after_restart_once(
    rig: Rig, pool: asyncpg.Pool, relay: tuple[OutboxRelay, AbstractQueue]
) -> None:
    outbox, probe = relay
    store_hash, _ = await rig.new_channel()
    orders = [rig.sandbox.add_order(store_hash) for _ in range(3)]

    # the first process commits the downloads and dies before its relay runs
    await rig.poller(owner="crashed").run_once()
    rows = await outbox_rows(pool)
    assert len(rows) == 3
    assert all(row["published_at"] is None for row in rows)

    # a new process: its relay publishes the backlog, its poller finds nothing new
    rig.time.advance(901)
    await rig.poller(owner="restarted").run_once()
    assert await outbox.run_once() == 3
    assert await outbox.run_once() == 0

    events = await received_events(probe, 3)
    assert sorted(e.order.order_id for e in events) == [o.id for o in orders]
    assert {str(e.event_id) for e in events} == {str(r["event_id"]) for r in rows}
    assert await probe_is_empty(probe)


async def test_two_pollers_on_one_database_never_publish_an_order_twice(
    rig: Rig, pool: asyncpg.Pool, relay: tuple[OutboxRelay, AbstractQueue]
) -> None:
    outbox, probe = relay
    stores = [await rig.new_channel() for _ in range(8)]
    expected = 0
    for index, (store_hash, _) in enumerate(stores):
        for _ in range(5 + index):
            rig.sandbox.add_order(store_hash)
            expected += 1
    first, second = rig.poller(owner="replica-a", concurrency=3), rig.poller(owner="replica-b", concurrency=3)

    published = 0
    for _ in range(3):
        results_a, results_b = await asyncio.gather(first.run_once(), second.run_once())
        # within a round a store is polled by one replica only (leases)
        assert not {r.channel_id for r in results_a} & {r.channel_id for r in results_b}
        published += await outbox.run_once()
        for store_hash, _ in stores:
            rig.sandbox.add_order(store_hash)
            expected += 1
        rig.time.advance(901)
    await asyncio.gather(first.run_once(), second.run_once())
    published += await outbox.run_once()

    events = await received_events(probe, published)
    ids = [(e.store_hash, e.order.order_id) for e in events]
    assert published == expected
    assert len(ids) == len(set(ids)) == expected
    assert await probe_is_empty(probe)


async def test_overlapping_polls_of_one_store_publish_each_order_once(
    rig: Rig, pool: asyncpg.Pool, relay: tuple[OutboxRelay, AbstractQueue]
) -> None:
    """Even two polls of the same store at once (a lease believed held by both) publish once."""
    outbox, probe = relay
    store_hash, _ = await rig.new_channel()
    for _ in range(30):
        rig.sandbox.add_order(store_hash)
    one, other = rig.poller(owner="split-brain"), rig.poller(owner="split-brain", seed=2)
    (claimed,) = await claim_due_channels(
        pool, owner="split-brain", now=rig.time.now(), lease_until=rig.time.now().replace(year=2999), limit=5
    )

    results = await asyncio.gather(one.poll_channel(claimed), other.poll_channel(claimed))

    assert sum(r.report.downloaded for r in results) == 30
    assert await outbox.run_once() == 30
    events = await received_events(probe, 30)
    assert len({e.order.order_id for e in events}) == 30
    assert await probe_is_empty(probe)


async def test_reinstall_does_not_publish_again(
    rig: Rig, pool: asyncpg.Pool, relay: tuple[OutboxRelay, AbstractQueue]
) -> None:
    outbox, probe = relay
    store_hash, channel_id = await rig.new_channel()
    orders = [rig.sandbox.add_order(store_hash) for _ in range(4)]
    await rig.poller().run_once()
    assert await outbox.run_once() == 4

    # reinstall: same channel, new token (the gateway keeps the id and stores the new grant)
    rig.sandbox.revoke_tokens(store_hash)
    token = rig.sandbox.issue_token(store_hash)
    await pool.execute(
        "UPDATE channels SET access_token_encrypted = $2, grant_generation = grant_generation + 1,"
        " next_download_at = NULL WHERE id = $1",
        channel_id,
        rig.cipher.encrypt(token),
    )
    await rig.poller().run_once()
    assert await outbox.run_once() == 0

    # even a channel row made anew for the same store publishes nothing already published
    await pool.execute("DELETE FROM channels WHERE id = $1", channel_id)
    new_id = await add_channel(pool, rig.cipher, store_hash, token)
    later = rig.sandbox.add_order(store_hash)
    results = await rig.poller().run_once()
    assert [(r.channel_id, r.report.downloaded) for r in results] == [(new_id, 1)]
    assert await outbox.run_once() == 1

    events = await received_events(probe, 5)
    assert sorted(e.order.order_id for e in events) == [*(o.id for o in orders), later.id]
    assert {e.channel_id for e in events if e.order.order_id == later.id} == {new_id}
    assert await downloaded_ids(pool, store_hash) == {*(o.id for o in orders), later.id}
