"""BigCommerce failures: 429 storms and 5xx lose nothing; 401, 403 and bad orders are handled per contract."""

from __future__ import annotations

import asyncio

import asyncpg
from aio_pika.abc import AbstractQueue
from bigcommerce_sandbox.faults import Fault
from common.db.channels import get_channel
from common.db.order_counts import order_counts
from common.outbox import OutboxRelay
from order_poller.db.orders import skipped_orders
from order_poller.db.schedule import claim_due_channels

from tests.support.order_poller import (
    Rig,
    add_channel,
    downloaded_ids,
    probe_is_empty,
    received_events,
    without_listed_weights,
)


async def poll_until_quiet(rig: Rig, outbox: OutboxRelay, rounds: int) -> int:
    """Poll round after round (each a new interval) and relay; the window heals what a round missed."""
    poller = rig.poller()
    published = 0
    for _ in range(rounds):
        await poller.run_once()
        published += await outbox.run_once()
        rig.time.advance(901)
    return published


async def test_429_storms_and_server_errors_lose_nothing(
    rig: Rig, pool: asyncpg.Pool, relay: tuple[OutboxRelay, AbstractQueue]
) -> None:
    outbox, probe = relay
    # a store whose quota runs out every few requests, on top of injected 429s, 5xx and resets
    store_hash, token = rig.new_store(quota=4)
    orders = [rig.sandbox.add_order(store_hash) for _ in range(40)]
    without_listed_weights(*orders)  # per-order requests too, not only the listing
    faults = rig.sandbox.faults(store_hash)
    storm = faults.add(Fault("status", status=429, probability=0.2))
    errors = faults.add(Fault("status", status=503, probability=0.2))
    crashes = faults.add(Fault("status", status=500, probability=0.1))
    resets = faults.add(Fault("reset", probability=0.05))
    await add_channel(pool, rig.cipher, store_hash, token)

    published = await poll_until_quiet(rig, outbox, rounds=6)

    statuses = [r.status for r in rig.sandbox.requests(store_hash)]
    assert statuses.count(429) > 10  # the quota and the storm were really hit
    assert storm.fired
    assert errors.fired
    assert crashes.fired
    assert resets.fired
    events = await received_events(probe, published)
    assert sorted(e.order.order_id for e in events) == [o.id for o in orders]
    assert published == len(orders)
    assert await probe_is_empty(probe)


async def test_401_marks_reauthorization_required_and_stops_requests(rig: Rig, pool: asyncpg.Pool) -> None:
    store_hash, channel_id = await rig.new_channel(weight_units="Grams")
    orders = [rig.sandbox.add_order(store_hash) for _ in range(6)]
    without_listed_weights(*orders)
    # the token is revoked without any callback while the poll is under way
    rig.sandbox.faults(store_hash).add(
        Fault("status", status=401, path_pattern=f"/orders/{orders[3].id}/products")
    )
    poller = rig.poller(order_concurrency=1)

    (result,) = await poller.run_once()

    assert result.outcome == "reauthorization_required"
    channel = await get_channel(pool, channel_id)
    assert channel is not None
    assert channel.status == "reauthorization_required"
    assert channel.last_error is not None
    assert "401" in channel.last_error
    assert await downloaded_ids(pool, store_hash) == {o.id for o in orders[:3]}
    # the 401 was the last request with that token, and later rounds send none
    assert rig.sandbox.requests(store_hash)[-1].status == 401
    sent = len(rig.sandbox.requests(store_hash))
    for _ in range(3):
        rig.time.advance(901)
        assert await poller.run_once() == []
    assert len(rig.sandbox.requests(store_hash)) == sent
    lease = await pool.fetchrow(
        "SELECT poll_lease_owner, next_download_at FROM channels WHERE id = $1", channel_id
    )
    # released, and due at once when the app is installed again
    assert lease is not None
    assert lease["poll_lease_owner"] is None
    assert lease["next_download_at"] is None


async def test_a_revoked_token_on_the_first_request_flags_the_channel(rig: Rig, pool: asyncpg.Pool) -> None:
    store_hash, channel_id = await rig.new_channel()
    rig.sandbox.add_order(store_hash)
    rig.sandbox.revoke_tokens(store_hash)

    (result,) = await rig.poller().run_once()

    assert result.outcome == "reauthorization_required"
    channel = await get_channel(pool, channel_id)
    assert channel is not None
    assert channel.status == "reauthorization_required"
    assert len(rig.sandbox.requests(store_hash)) == 1


async def test_403_sets_permissions_missing_and_keeps_polling(rig: Rig, pool: asyncpg.Pool) -> None:
    store_hash, channel_id = await rig.new_channel(weight_units="Grams")
    rig.sandbox.add_order(store_hash)
    refusal = rig.sandbox.faults(store_hash).add(Fault("status", status=403, times=1))

    (result,) = await rig.poller().run_once()

    assert result.outcome == "permissions_missing"
    channel = await get_channel(pool, channel_id)
    assert channel is not None
    assert channel.status == "active"
    assert channel.last_download_error is not None
    assert channel.last_download_error.startswith("permissions missing")
    assert channel.next_download_at is not None
    assert channel.next_download_at > rig.time.now()
    assert refusal.fired == 1

    # once the merchant re-approves, the next poll is clean and clears the error
    rig.time.advance(901)
    (result,) = await rig.poller().run_once()
    assert result.outcome == "ok"
    channel = await get_channel(pool, channel_id)
    assert channel is not None
    assert channel.last_download_error is None
    assert channel.last_download_at == rig.time.now()


async def test_a_bad_order_is_recorded_and_never_blocks_the_rest(
    rig: Rig, pool: asyncpg.Pool, relay: tuple[OutboxRelay, AbstractQueue]
) -> None:
    outbox, probe = relay
    store_hash, channel_id = await rig.new_channel(weight_units="Grams")
    orders = [rig.sandbox.add_order(store_hash) for _ in range(5)]
    missing, broken = orders[1], orders[3]
    without_listed_weights(missing)  # read through /products, where the 404 waits
    gone = rig.sandbox.faults(store_hash).add(
        Fault("status", status=404, times=1, path_pattern=f"/orders/{missing.id}/products")
    )
    # a malformed field: the listed line cannot stand in for /products, which says it is malformed
    broken.lines[0].variant_id = "v-12"  # type: ignore[assignment]

    (result,) = await rig.poller().run_once()

    assert result.outcome == "ok"
    assert gone.fired == 1
    assert await downloaded_ids(pool, store_hash) == {orders[0].id, orders[2].id, orders[4].id}
    skipped = {s.order_id: s for s in await skipped_orders(pool, store_hash)}
    assert skipped[missing.id].reason == "not_found"
    assert skipped[broken.id].reason == "malformed"
    assert "variant_id" in skipped[broken.id].detail
    channel = await get_channel(pool, channel_id)
    assert channel is not None
    assert channel.last_download_error is None

    # both are retried by the next poll: the one that came back is downloaded and unskipped
    rig.time.advance(901)
    await rig.poller().run_once()
    skipped = {s.order_id: s for s in await skipped_orders(pool, store_hash)}
    assert set(skipped) == {broken.id}
    assert skipped[broken.id].attempts == 2
    assert await outbox.run_once() == 4
    assert len(await received_events(probe, 4)) == 4
    counts = await order_counts(pool, channel_id)
    assert (counts.downloaded_orders, counts.skipped_by_reason) == (4, {"malformed": 1})


async def test_unknown_weight_unit_skips_orders_without_fetching_them_until_fixed(
    rig: Rig, pool: asyncpg.Pool, relay: tuple[OutboxRelay, AbstractQueue]
) -> None:
    outbox, _ = relay
    store_hash, token = rig.new_store(weight_units="Stones")
    orders = [rig.sandbox.add_order(store_hash) for _ in range(3)]
    channel_id = await add_channel(pool, rig.cipher, store_hash, token)

    (result,) = await rig.poller().run_once()

    assert result.outcome == "ok"
    channel = await get_channel(pool, channel_id)
    assert channel is not None
    assert channel.weight_units == "Stones"
    assert channel.last_download_error is not None
    assert "Stones" in channel.last_download_error
    assert {s.reason for s in await skipped_orders(pool, store_hash)} == {"unknown_weight_unit"}
    assert not any("/products" in r for r in rig.api_requests(store_hash))

    rig.sandbox.store(store_hash).weight_units = "Pounds"
    rig.time.advance(901)
    await rig.poller().run_once()
    assert await outbox.run_once() == 3
    assert await downloaded_ids(pool, store_hash) == {o.id for o in orders}
    assert await skipped_orders(pool, store_hash) == []
    channel = await get_channel(pool, channel_id)
    assert channel is not None
    assert channel.weight_units == "Pounds"
    assert channel.last_download_error is None


async def test_weight_units_are_read_once_and_cached_on_the_channel(rig: Rig, pool: asyncpg.Pool) -> None:
    store_hash, token = rig.new_store(weight_units="Ounces", plan_name="Pro")
    channel_id = await add_channel(pool, rig.cipher, store_hash, token)
    for _ in range(3):
        rig.sandbox.add_order(store_hash)
        await rig.poller().run_once()
        rig.time.advance(901)

    assert rig.api_requests(store_hash).count(f"GET /stores/{store_hash}/v2/store") == 1
    channel = await get_channel(pool, channel_id)
    assert channel is not None
    assert (channel.weight_units, channel.plan_name) == ("Ounces", "Pro")


async def test_a_channel_disconnected_after_the_claim_gets_no_request(rig: Rig, pool: asyncpg.Pool) -> None:
    store_hash, channel_id = await rig.new_channel()
    rig.sandbox.add_order(store_hash)
    poller = rig.poller()
    (claimed,) = await claim_due_channels(
        pool, owner=poller.owner, now=rig.time.now(), lease_until=rig.time.now().replace(year=2999), limit=1
    )
    await pool.execute(
        "UPDATE channels SET status = 'disconnected', access_token_encrypted = NULL WHERE id = $1", channel_id
    )

    result = await poller.poll_channel(claimed)

    assert result.outcome == "stopped"
    assert rig.sandbox.requests(store_hash) == []
    owner = await pool.fetchval("SELECT poll_lease_owner FROM channels WHERE id = $1", channel_id)
    assert owner is None


async def test_a_disconnect_during_a_poll_stops_its_requests(rig: Rig, pool: asyncpg.Pool) -> None:
    store_hash, channel_id = await rig.new_channel(weight_units="Grams")
    orders = [rig.sandbox.add_order(store_hash) for _ in range(5)]
    without_listed_weights(*orders)
    slow = rig.sandbox.faults(store_hash).add(
        Fault("latency", delay_s=2, times=1, path_pattern=f"/orders/{orders[1].id}/products")
    )
    poll = asyncio.create_task(rig.poller(order_concurrency=1).run_once())

    deadline = asyncio.get_running_loop().time() + 10
    while not slow.fired:  # the request is in flight at BigCommerce
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)
    # "Disconnect Store" while the request is under way: status moves and the token is erased
    await pool.execute(
        "UPDATE channels SET status = 'disconnected', access_token_encrypted = NULL WHERE id = $1",
        channel_id,
    )
    (result,) = await poll

    assert result.outcome == "stopped"
    paths = [r.path for r in rig.sandbox.requests(store_hash)]
    # the in-flight request completes; nothing is sent after it
    assert paths[-1].endswith(f"/orders/{orders[1].id}/products")
    assert not any(f"/orders/{o.id}/" in p for o in orders[2:] for p in paths)
    assert await downloaded_ids(pool, store_hash) == {orders[0].id}


async def test_an_order_past_its_time_budget_is_skipped_for_this_poll_only(
    rig: Rig, pool: asyncpg.Pool
) -> None:
    store_hash, _ = await rig.new_channel(weight_units="Grams")
    orders = [rig.sandbox.add_order(store_hash) for _ in range(3)]
    slow = orders[1]
    without_listed_weights(slow)
    hang = rig.sandbox.faults(store_hash).add(
        Fault("timeout", times=1, hang_s=5, path_pattern=f"/orders/{slow.id}/products")
    )

    (result,) = await rig.poller(order_budget_s=0.3).run_once()

    assert result.outcome == "ok"
    assert hang.fired == 1
    assert await downloaded_ids(pool, store_hash) == {orders[0].id, orders[2].id}
    (skipped,) = await skipped_orders(pool, store_hash)
    assert (skipped.order_id, skipped.reason, skipped.final) == (slow.id, "too_slow", False)
    assert "took longer than its budget" in skipped.detail

    rig.time.advance(901)
    await rig.poller().run_once()
    assert await downloaded_ids(pool, store_hash) == {o.id for o in orders}
    assert await skipped_orders(pool, store_hash) == []


async def test_a_clean_poll_clears_its_own_error_and_keeps_the_writers(rig: Rig, pool: asyncpg.Pool) -> None:
    store_hash, channel_id = await rig.new_channel(weight_units="Grams")
    rig.sandbox.add_order(store_hash)
    await pool.execute(
        "UPDATE channels SET last_download_error = 'BigCommerce unavailable',"
        " last_writeback_error = 'order 7: refused' WHERE id = $1",
        channel_id,
    )

    (result,) = await rig.poller().run_once()

    assert result.outcome == "ok"
    channel = await get_channel(pool, channel_id)
    assert channel is not None
    assert (channel.last_download_error, channel.last_writeback_error) == (None, "order 7: refused")
    assert channel.sync_error == "Write-back: order 7: refused"
