"""Tolerance of what a BigCommerce (or a fake written from its docs) may send, and the database clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from aio_pika.abc import AbstractQueue
from bigcommerce_sandbox.faults import Fault
from common.db.channels import get_channel, request_download
from common.outbox import OutboxRelay
from order_poller import poller as poller_module
from order_poller.db.orders import skipped_orders
from order_poller.poller import Poller

from tests.support.order_poller import Rig, add_channel, downloaded_ids, received_events


async def test_an_unreadable_order_in_the_list_is_skipped_and_the_rest_download(
    rig: Rig, pool: asyncpg.Pool, relay: tuple[OutboxRelay, AbstractQueue]
) -> None:
    outbox, probe = relay
    store_hash, channel_id = await rig.new_channel(weight_units="Grams")
    orders = [rig.sandbox.add_order(store_hash) for _ in range(3)]
    broken = orders[1]
    broken.customer_message = ["not", "text"]  # type: ignore[assignment]  # the list row does not parse

    (result,) = await rig.poller().run_once()

    assert result.outcome == "ok"
    assert await downloaded_ids(pool, store_hash) == {orders[0].id, orders[2].id}
    [skip] = await skipped_orders(pool, store_hash)
    assert (skip.order_id, skip.reason, skip.final) == (broken.id, "malformed", False)
    assert "customer_message" in skip.detail
    assert await outbox.run_once() == 2
    assert len(await received_events(probe, 2)) == 2
    channel = await get_channel(pool, channel_id)
    assert channel is not None
    assert channel.last_download_error is None

    # fixed at the store: the next poll downloads it and forgets the skip
    broken.customer_message = "Fixed"
    rig.time.advance(901)
    await rig.poller().run_once()
    assert broken.id in await downloaded_ids(pool, store_hash)
    assert await skipped_orders(pool, store_hash) == []


async def test_a_store_without_a_weight_unit_downloads_with_weights_unknown(
    rig: Rig, pool: asyncpg.Pool, relay: tuple[OutboxRelay, AbstractQueue]
) -> None:
    outbox, probe = relay
    store_hash, token = rig.new_store(weight_units="")
    order = rig.sandbox.add_order(store_hash)
    channel_id = await add_channel(pool, rig.cipher, store_hash, token)

    (result,) = await rig.poller().run_once()

    assert result.outcome == "ok"
    assert await downloaded_ids(pool, store_hash) == {order.id}
    assert await outbox.run_once() == 1
    (event,) = await received_events(probe, 1)
    weights = {item.weight_grams for c in event.order.consignments for item in c.items}
    assert weights == {0}
    channel = await get_channel(pool, channel_id)
    assert channel is not None
    assert channel.last_download_error is not None
    assert "no weight unit" in channel.last_download_error


async def test_due_times_are_compared_on_the_database_clock(
    rig: Rig, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    requested, requested_id = await rig.new_channel(weight_units="Grams")
    later, _ = await rig.new_channel(weight_units="Grams")
    db_now: datetime = await pool.fetchval("SELECT now()")
    await pool.execute(
        "UPDATE channels SET next_download_at = now() + interval '1 hour' WHERE store_hash = $1", later
    )
    assert await request_download(pool, requested_id)  # due at the database's now()
    # the host clock is two hours behind the database: only the database's clock may decide
    monkeypatch.setattr(poller_module, "utc_now", lambda: datetime.now(UTC) - timedelta(hours=2))
    real_clock = Poller(rig.pool, rig.client, rig.cipher, rig.config, owner="db-clock")

    results = await real_clock.run_once()

    assert [r.store_hash for r in results] == [requested]
    assert results[0].outcome == "ok"
    row = await pool.fetchrow(
        "SELECT next_download_at, last_download_at, poll_lease_owner FROM channels WHERE id = $1",
        requested_id,
    )
    assert row["poll_lease_owner"] is None
    # the next due time is counted from the database's clock too, not the host's two hours ago
    assert row["last_download_at"] >= db_now
    delay = (row["next_download_at"] - row["last_download_at"]).total_seconds()
    assert rig.config.interval_min_s <= delay <= rig.config.interval_max_s
    assert rig.sandbox.requests(later) == []


async def test_a_store_without_store_information_still_downloads(
    rig: Rig, pool: asyncpg.Pool, relay: tuple[OutboxRelay, AbstractQueue]
) -> None:
    outbox, probe = relay
    store_hash, _ = await rig.new_channel()
    order = rig.sandbox.add_order(store_hash)
    rig.sandbox.faults(store_hash).add(Fault("status", status=404, path_pattern="/v2/store"))

    (result,) = await rig.poller().run_once()

    assert result.outcome == "ok"
    assert await downloaded_ids(pool, store_hash) == {order.id}
    assert await outbox.run_once() == 1
    (event,) = await received_events(probe, 1)
    assert {item.weight_grams for c in event.order.consignments for item in c.items} == {0}
