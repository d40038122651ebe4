"""OrderChanged: a downloaded order that changes in BigCommerce is announced once, with what changed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qs

import asyncpg
import pytest
from aio_pika.abc import AbstractQueue, AbstractRobustConnection
from auth_gateway.db.order_changes import moves_downloaded_order
from auth_gateway.db.order_requests import request_order_download
from bigcommerce_sandbox.builders import AddressSpec, LineSpec
from bigcommerce_sandbox.merchant import Merchant
from common.amqp import EventPublisher, Topology
from common.bigcommerce.models import NewShipment, NewShipmentItem
from common.db.despatches import record_despatch
from common.events import OrderChanged, OrderDespatched
from common.order_memory import memory_from_row
from common.outbox import OutboxRelay
from order_poller import change_scan
from order_poller.change_scan import SCAN_OVERLAP
from status_writer.flusher import Flusher

from tests.support.amqp import bind_probe, get_messages
from tests.support.order_poller import DOWNLOADED_KEY, Rig, add_channel, outbox_rows, without_listed_weights
from tests.support.status_writer import POLICY

CHANGED_KEY = "bigcommerce.order.changed"


@dataclass
class Probe:
    relay: OutboxRelay
    queue: AbstractQueue

    async def changed(self, count: int) -> list[OrderChanged]:
        messages = await get_messages(self.queue, count, timeout_s=10)
        return [OrderChanged.model_validate_json(m.body) for m in messages]

    async def empty(self) -> bool:
        return await self.queue.get(fail=False, no_ack=True) is None


@pytest.fixture
async def probe(
    pool: asyncpg.Pool, amqp_connection: AbstractRobustConnection, topology: Topology
) -> AsyncIterator[Probe]:
    queue = await bind_probe(amqp_connection, topology.exchange, CHANGED_KEY)
    # OrderDownloaded needs a queue too, or the broker returns it unroutable
    await bind_probe(amqp_connection, topology.exchange, DOWNLOADED_KEY)
    async with EventPublisher(amqp_connection, Topology(exchange=topology.exchange)) as publisher:
        yield Probe(OutboxRelay(pool, publisher), queue)


@dataclass
class Shop:
    rig: Rig
    store_hash: str
    token: str
    channel_id: uuid.UUID
    merchant: Merchant

    async def poll(self, probe: Probe) -> int:
        """One scheduled poll of every due channel, then the outbox relayed; returns events published."""
        await self.rig.poller().run_once()
        published = await probe.relay.run_once()
        self.rig.time.advance(901)  # due again, and what the merchant does next is a later second
        return published

    async def despatched(self, order_id: int) -> OrderDespatched:
        """Click & Drop despatches the order: the despatch recorded as the writer's ingest does."""
        despatch = OrderDespatched(
            channel_id=self.channel_id,
            store_hash=self.store_hash,
            order_id=order_id,
            despatched_at=self.rig.time.now(),
            tracking_number="TT123456785GB",
        )
        async with self.rig.pool.acquire() as conn:
            assert await record_despatch(conn, despatch)
        return despatch

    def listings(self) -> list[str]:
        return [r.query for r in self.rig.sandbox.requests(self.store_hash) if r.path.endswith("/v2/orders")]


@pytest.fixture
async def shop(rig: Rig, pool: asyncpg.Pool) -> Shop:
    store_hash, token = rig.new_store(weight_units="Grams")
    channel_id = await add_channel(pool, rig.cipher, store_hash, token, weight_units="Grams")
    return Shop(rig, store_hash, token, channel_id, Merchant(rig.sandbox, store_hash))


async def downloaded_event_id(pool: asyncpg.Pool, store_hash: str, order_id: int) -> uuid.UUID:
    value: uuid.UUID = await pool.fetchval(
        "SELECT event_id FROM downloaded_orders WHERE store_hash = $1 AND order_id = $2", store_hash, order_id
    )
    return value


async def test_cancelled_refunded_and_declined_are_each_announced_once(
    shop: Shop, probe: Probe, pool: asyncpg.Pool
) -> None:
    sandbox = shop.rig.sandbox
    cancelled = sandbox.add_order(shop.store_hash, [LineSpec(quantity=2)])
    refunded = sandbox.add_order(shop.store_hash, [LineSpec(quantity=3)])
    declined = sandbox.add_order(shop.store_hash)
    sandbox.add_order(shop.store_hash)  # left alone
    assert await shop.poll(probe) == 4  # the OrderDownloaded events

    await shop.merchant.cancel(cancelled.id)
    await shop.merchant.refund(refunded.id)
    await shop.merchant.decline(declined.id)
    assert await shop.poll(probe) == 3

    events = {e.order.order_id: e for e in await probe.changed(3)}
    assert set(events) == {cancelled.id, refunded.id, declined.id}
    assert {e.order.order_id: e.changes for e in events.values()} == {
        cancelled.id: ["cancelled"],
        refunded.id: ["cancelled"],
        declined.id: ["cancelled"],
    }
    assert [events[i].order.status_id for i in (cancelled.id, refunded.id, declined.id)] == [5, 4, 6]
    for order_id, event in events.items():
        assert event.downloaded_event_id == await downloaded_event_id(pool, shop.store_hash, order_id)
        assert (event.channel_id, event.store_hash) == (shop.channel_id, shop.store_hash)
    # a refunded order ships nothing: its lines are listed as ordered
    assert [i.quantity for i in events[refunded.id].order.consignments[0].items] == [3]
    assert [i.quantity for i in events[cancelled.id].order.consignments[0].items] == [2]
    # the writer reads the current status from the memory
    row = await pool.fetchrow(
        "SELECT status_id, consignments FROM downloaded_orders WHERE store_hash = $1 AND order_id = $2",
        shop.store_hash,
        refunded.id,
    )
    memory = memory_from_row(row["status_id"], row["consignments"])
    assert memory is not None
    assert (memory.status_id, memory.consignments) == (4, ())

    assert await shop.poll(probe) == 0
    assert await probe.empty()


async def test_address_change_on_one_consignment_of_a_multi_address_order(shop: Shop, probe: Probe) -> None:
    order = shop.rig.sandbox.add_order(
        shop.store_hash,
        [LineSpec(address=0, name="Mug"), LineSpec(address=1, name="Scarf")],
        addresses=[AddressSpec(), AddressSpec(shipping_method="Royal Mail Tracked 24")],
    )
    assert await shop.poll(probe) == 1
    first, second = (a.id for a in order.addresses)

    await shop.merchant.edit_address(order.id, second, street_1="2 New Road", city="Leeds")
    assert await shop.poll(probe) == 1
    (event,) = await probe.changed(1)
    assert event.changes == ["address"]
    by_id = {c.order_address_id: c for c in event.order.consignments}
    assert (by_id[second].address.street_1, by_id[second].address.city) == ("2 New Road", "Leeds")
    assert by_id[first].address.city == "London"

    await shop.merchant.edit_address(order.id, first, shipping_method="Special Delivery")
    assert await shop.poll(probe) == 1
    (event,) = await probe.changed(1)
    assert event.changes == ["address"]
    assert {c.order_address_id: c.shipping_method for c in event.order.consignments}[
        first
    ] == "Special Delivery"


async def test_quantity_change_is_items(shop: Shop, probe: Probe) -> None:
    order = shop.rig.sandbox.add_order(shop.store_hash, [LineSpec(quantity=1), LineSpec(quantity=2)])
    assert await shop.poll(probe) == 1
    await shop.merchant.edit_quantity(order.id, order.lines[1].id, 5)
    assert await shop.poll(probe) == 1
    (event,) = await probe.changed(1)
    assert event.changes == ["items"]
    assert [i.quantity for i in event.order.consignments[0].items] == [1, 5]


async def test_shipped_by_hand_is_a_status_change(shop: Shop, probe: Probe) -> None:
    order = shop.rig.sandbox.add_order(shop.store_hash, [LineSpec(quantity=2)])
    assert await shop.poll(probe) == 1
    await shop.merchant.ship_by_hand(order.id)
    assert await shop.poll(probe) == 1
    (event,) = await probe.changed(1)
    assert event.changes == ["status"]
    assert event.order.status_id == 2
    assert await shop.poll(probe) == 0


async def test_touch_own_writeback_and_nothing_new_announce_nothing(
    shop: Shop, probe: Probe, pool: asyncpg.Pool
) -> None:
    sandbox = shop.rig.sandbox
    touched = sandbox.add_order(shop.store_hash)
    ours = sandbox.add_order(shop.store_hash, [LineSpec(quantity=2)])
    assert await shop.poll(probe) == 2

    await shop.merchant.touch(touched.id, staff_notes="rang the customer")
    # our own write-back, as the status writer does it: the despatch recorded, a shipment, the PUT
    despatch = await shop.despatched(ours.id)
    api = shop.rig.client.store(shop.store_hash, shop.token)
    line = ours.lines[0]
    shipment = NewShipment(
        order_address_id=ours.addresses[0].id,
        items=[NewShipmentItem(order_product_id=line.id, quantity=2)],
        tracking_number="TT123456785GB",
        shipping_provider="royalmail",
    )
    await api.create_shipment(ours.id, shipment)
    await api.update_order_status(ours.id, 10)
    await pool.execute("UPDATE despatches SET state = 'written' WHERE event_id = $1", despatch.event_id)
    shop.rig.sandbox.clear_requests(shop.store_hash)

    assert await shop.poll(probe) == 0
    assert await shop.poll(probe) == 0
    assert await probe.empty()
    # each poll: the download listing and one listing of modified orders, nothing per order
    scans = [q for q in shop.listings() if "min_date_modified" in q]
    assert len(scans) == 2
    assert all("include=consignments.line_items" in q and "status_id" not in q for q in scans)
    assert len(shop.rig.api_requests(shop.store_hash)) == 4


async def test_first_scan_reads_the_window_then_only_what_was_modified_since(
    shop: Shop, probe: Probe
) -> None:
    shop.rig.sandbox.add_order(shop.store_hash)
    start = shop.rig.time.now()
    await shop.poll(probe)
    await shop.poll(probe)
    first, second = (parse_qs(q)["min_date_modified"][0] for q in shop.listings() if "min_date_modified" in q)
    # the first scan starts at the window (7 days back), the next one shortly before the last began
    assert datetime.fromisoformat(first) == start.replace(microsecond=0) - timedelta(days=7)
    assert datetime.fromisoformat(second) == start.replace(microsecond=0) - SCAN_OVERLAP


async def test_a_poller_killed_between_finding_and_publishing_publishes_once(
    shop: Shop, probe: Probe, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = shop.rig.sandbox.add_order(shop.store_hash)
    assert await shop.poll(probe) == 1
    await shop.merchant.cancel(order.id)

    class Killed(Exception):
        pass

    real_record = change_scan.record_change

    async def die_before_commit(*args: object, **kwargs: object) -> bool:
        raise Killed

    monkeypatch.setattr(change_scan, "record_change", die_before_commit)
    # one round only: a crashed poll leaves the store due at once
    results = await shop.rig.poller().poll_due_channels()
    assert [r.outcome for r in results] == ["failed"]
    assert not [r for r in await outbox_rows(pool) if '"OrderChanged"' in str(r["body"])]
    shop.rig.time.advance(901)

    # the next poll (another replica) finds the change again and writes it with the memory ...
    monkeypatch.setattr(change_scan, "record_change", real_record)
    await shop.rig.poller(owner="replica-2").run_once()
    shop.rig.time.advance(901)
    # ... then dies before the relay publishes; a third poll finds nothing new to write
    await shop.rig.poller(owner="replica-3").run_once()
    changed_rows = [r for r in await outbox_rows(pool) if '"OrderChanged"' in str(r["body"])]
    assert len(changed_rows) == 1

    assert await probe.relay.run_once() >= 1
    (event,) = await probe.changed(1)
    assert event.changes == ["cancelled"]
    assert await probe.empty()


async def test_listed_lines_without_weights_cost_a_read_only_for_an_order_that_changed(
    shop: Shop, probe: Probe
) -> None:
    sandbox = shop.rig.sandbox
    touched = sandbox.add_order(shop.store_hash, [LineSpec(weight="250")])
    edited = sandbox.add_order(shop.store_hash, [LineSpec(weight="250")])
    without_listed_weights(touched, edited)
    assert await shop.poll(probe) == 2
    sandbox.clear_requests(shop.store_hash)

    await shop.merchant.touch(touched.id, staff_notes="checked stock")
    await shop.merchant.edit_quantity(edited.id, edited.lines[0].id, 2)
    assert await shop.poll(probe) == 1

    per_order = sorted(r for r in shop.rig.api_requests(shop.store_hash) if "/orders/" in r)
    assert per_order == [
        f"GET /stores/{shop.store_hash}/v2/orders/{edited.id}/{what}"
        for what in ("products", "shipping_addresses")
    ]
    (event,) = await probe.changed(1)
    assert event.changes == ["items"]
    (item,) = event.order.consignments[0].items
    assert (item.quantity, str(item.weight_grams)) == (2, "250.00")


async def gateway_request(pool: asyncpg.Pool, shop: Shop, order_id: int, new_status_id: int) -> bool:
    """What the gateway does for a statusUpdated delivery, in its own transaction."""
    async with pool.acquire() as conn, conn.transaction():
        moved = await moves_downloaded_order(conn, shop.channel_id, shop.store_hash, order_id, new_status_id)
        return await request_order_download(
            conn, shop.channel_id, order_id, new_status_id, downloaded_order_moved=moved
        )


async def test_a_change_found_by_a_webhook_costs_one_request_of_the_order(
    shop: Shop, probe: Probe, pool: asyncpg.Pool
) -> None:
    sandbox = shop.rig.sandbox
    cancelled = sandbox.add_order(shop.store_hash)
    ours = sandbox.add_order(shop.store_hash)
    never_downloaded = sandbox.add_order(shop.store_hash, status_id=11)
    await shop.rig.poller().run_once()  # downloaded; the window is next due in 10-15 minutes
    assert await probe.relay.run_once() == 2
    sandbox.clear_requests(shop.store_hash)

    await shop.merchant.cancel(cancelled.id)
    assert await gateway_request(pool, shop, cancelled.id, 5)
    # a move of an order never downloaded, and our own write-back's move, request nothing
    assert not await gateway_request(pool, shop, never_downloaded.id, 5)
    await shop.despatched(ours.id)
    assert not await gateway_request(pool, shop, ours.id, 2)

    (result,) = await shop.rig.poller().run_once()

    assert result.outcome == "ok"
    [call] = sandbox.requests(shop.store_hash)
    assert (call.method, call.path) == ("GET", f"/stores/{shop.store_hash}/v2/orders/{cancelled.id}")
    assert await probe.relay.run_once() == 1
    (event,) = await probe.changed(1)
    assert (event.order.order_id, event.changes) == (cancelled.id, ["cancelled"])

    # the scheduled poll finds the same change remembered: nothing more
    shop.rig.time.advance(901)
    assert await shop.poll(probe) == 0
    assert await probe.empty()


async def test_an_order_without_a_readable_memory_is_remembered_afresh_then_followed(
    shop: Shop, probe: Probe, pool: asyncpg.Pool
) -> None:
    old, unreadable = (shop.rig.sandbox.add_order(shop.store_hash) for _ in range(2))
    assert await shop.poll(probe) == 2
    # a row from before the memory was kept, and one whose memory cannot be read
    await pool.execute(
        "UPDATE downloaded_orders SET status_id = NULL, consignments = NULL WHERE order_id = $1", old.id
    )
    await pool.execute(
        """UPDATE downloaded_orders SET consignments = '[{"order_address_id": "x"}]' WHERE order_id = $1""",
        unreadable.id,
    )
    await shop.merchant.touch(old.id)
    await shop.merchant.touch(unreadable.id)
    assert await shop.poll(probe) == 0  # remembered as they are now, nothing announced

    await shop.merchant.cancel(old.id)
    await shop.merchant.cancel(unreadable.id)
    assert await shop.poll(probe) == 2
    events = await probe.changed(2)
    assert sorted((e.order.order_id, tuple(e.changes)) for e in events) == [
        (old.id, ("cancelled",)),
        (unreadable.id, ("cancelled",)),
    ]


async def test_a_despatch_after_the_cancellation_was_found_is_refused_by_the_writer(
    shop: Shop, probe: Probe, pool: asyncpg.Pool
) -> None:
    order = shop.rig.sandbox.add_order(shop.store_hash)
    assert await shop.poll(probe) == 1
    await shop.merchant.cancel(order.id)
    assert await shop.poll(probe) == 1  # OrderChanged, cancelled: the memory says so now
    # Click & Drop had printed the label already and despatches it anyway
    despatch = await shop.despatched(order.id)
    shop.rig.sandbox.clear_requests(shop.store_hash)

    writer = Flusher(
        pool, shop.rig.client, shop.rig.cipher, policy=POLICY, holder="writer-1", clock=shop.rig.time.now
    )
    await writer.flush_once()

    row = await pool.fetchrow("SELECT state, reason FROM despatches WHERE event_id = $1", despatch.event_id)
    assert (row["state"], row["reason"]) == ("failed", "order cancelled in BigCommerce")
    assert not [r for r in shop.rig.sandbox.requests(shop.store_hash) if r.method != "GET"]
    assert shop.rig.sandbox.order(shop.store_hash, order.id).shipments == []


async def test_a_failed_despatch_counts_as_ours_only_once_it_created_a_shipment(
    shop: Shop, probe: Probe, pool: asyncpg.Pool
) -> None:
    half_written, refused = (shop.rig.sandbox.add_order(shop.store_hash) for _ in range(2))
    assert await shop.poll(probe) == 2
    for order, shipment_ids in ((half_written, [7]), (refused, [])):
        despatch = await shop.despatched(order.id)
        await pool.execute(
            "UPDATE despatches SET state = 'failed', shipment_ids = $2 WHERE event_id = $1",
            despatch.event_id,
            shipment_ids,
        )
        await shop.merchant.ship_by_hand(order.id)  # BigCommerce shows both as Shipped

    assert await shop.poll(probe) == 1
    (event,) = await probe.changed(1)
    assert (event.order.order_id, event.changes) == (refused.id, ["status"])
