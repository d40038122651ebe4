"""The requests a despatch costs: planned from the download's memory when it can be, read when it must.

Every test counts the requests the sandbox saw, so a despatch that needs fewer (or more) shows here.
"""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from bigcommerce_sandbox.builders import AddressSpec, LineSpec
from bigcommerce_sandbox.faults import Fault
from bigcommerce_sandbox.models import Order, Shipment, ShipmentItem
from common.bigcommerce import statuses
from common.db.despatches import list_despatches, retry_despatch

from tests.support.status_writer import WriterRig, despatch, every_item, writer_rig

ORDER_CANCELLED = "order cancelled in BigCommerce"


def ship_by_hand(rig: WriterRig, store_hash: str, order: Order, line_id: int, quantity: int) -> Shipment:
    """The merchant's "Ship Items" in the control panel, after the order was downloaded."""
    store = rig.sandbox.store(store_hash)
    line = order.line(line_id)
    assert line is not None
    shipment = Shipment(
        id=store.next_shipment_id,
        order_id=order.id,
        order_address_id=line.order_address_id,
        date_created=rig.time.now(),
        items=[ShipmentItem(line_id, line.product_id, quantity)],
        tracking_number="HAND0001",
    )
    store.next_shipment_id += 1
    order.shipments.append(shipment)
    line.quantity_shipped += quantity
    shipped = all(ln.remaining == 0 for ln in order.lines if ln.type == "physical")
    order.status_id = statuses.SHIPPED if shipped else statuses.PARTIALLY_SHIPPED
    return shipment


async def remembered_order(
    rig: WriterRig, store_hash: str, channel_id: uuid.UUID, lines: list[LineSpec] | None = None
) -> Order:
    order = rig.order(store_hash, lines or [LineSpec(quantity=2), LineSpec(name="Mug")])
    await rig.remember(store_hash, channel_id, order)
    return order


async def test_a_remembered_order_whose_despatch_names_its_items_costs_one_post_and_one_put(
    pool: asyncpg.Pool,
) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        order = await remembered_order(rig, store_hash, channel_id)
        await rig.record(despatch(channel_id, store_hash, order.id, items=every_item(order)))

        report = await rig.writer().flush_once()

        assert report.written == 1
        assert rig.api_calls(store_hash) == [f"POST /orders/{order.id}/shipments", f"PUT /orders/{order.id}"]
        [shipment] = order.shipments
        assert {(i.order_product_id, i.quantity) for i in shipment.items} == {
            (ln.id, ln.quantity) for ln in order.lines
        }
        assert order.status_id == statuses.COMPLETED
        [row] = await rig.despatches(channel_id)
        assert (row["state"], row["reason"], row["shipment_ids"]) == ("written", None, [shipment.id])


async def test_shipped_as_the_target_costs_the_post_and_the_put(pool: asyncpg.Pool) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel(despatched_order_status="shipped")
        order = await remembered_order(rig, store_hash, channel_id)
        await rig.record(despatch(channel_id, store_hash, order.id, items=every_item(order)))

        await rig.writer().flush_once()

        assert rig.api_calls(store_hash) == [f"POST /orders/{order.id}/shipments", f"PUT /orders/{order.id}"]
        assert order.status_id == statuses.SHIPPED


async def test_the_second_consignment_completes_the_order_from_what_the_connector_wrote_before(
    pool: asyncpg.Pool,
) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        order = rig.order(
            store_hash,
            [LineSpec(name="A", address=0), LineSpec(name="B", address=1, quantity=3)],
            addresses=[AddressSpec(), AddressSpec()],
        )
        await rig.remember(store_hash, channel_id, order)
        first, second = order.lines
        writer = rig.writer()

        await rig.record(
            despatch(
                channel_id,
                store_hash,
                order.id,
                tracking_number="TA000000001GB",
                items=[{"order_product_id": first.id, "quantity": 1}],
            )
        )
        await writer.flush_once()
        # the order is not fully shipped yet: no status change
        assert rig.api_calls(store_hash) == [f"POST /orders/{order.id}/shipments"]
        assert order.status_id == statuses.PARTIALLY_SHIPPED

        rig.sandbox.clear_requests()
        await rig.record(
            despatch(
                channel_id,
                store_hash,
                order.id,
                tracking_number="TB000000001GB",
                items=[{"order_product_id": second.id, "quantity": 3}],
            )
        )
        await writer.flush_once()

        assert rig.api_calls(store_hash) == [f"POST /orders/{order.id}/shipments", f"PUT /orders/{order.id}"]
        assert order.status_id == statuses.COMPLETED
        assert sorted(s.order_address_id for s in order.shipments) == sorted(a.id for a in order.addresses)
        assert {r["state"] for r in await rig.despatches(channel_id)} == {"written"}


async def test_a_despatch_that_names_no_items_reads_what_is_left_first(pool: asyncpg.Pool) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        order = await remembered_order(rig, store_hash, channel_id)
        await rig.record(despatch(channel_id, store_hash, order.id))

        await rig.writer().flush_once()

        # the lines' shipped counts say what is left; no request of ours can be in flight
        assert rig.api_calls(store_hash) == [
            f"GET /orders/{order.id}/products",
            f"POST /orders/{order.id}/shipments",
            f"PUT /orders/{order.id}",
        ]
        assert order.status_id == statuses.COMPLETED


async def test_an_order_shipped_by_hand_after_the_download_is_reconciled_not_shipped_twice(
    pool: asyncpg.Pool,
) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        order = await remembered_order(rig, store_hash, channel_id, [LineSpec(quantity=2)])
        items = every_item(order)
        [line] = order.lines
        by_hand = ship_by_hand(rig, store_hash, order, line.id, 2)  # the memory still says 2 to ship
        await rig.record(despatch(channel_id, store_hash, order.id, items=items))

        await rig.writer().flush_once()

        # BigCommerce refuses the quantity; the writer reads the order instead of failing the despatch
        assert rig.api_calls(store_hash) == [
            f"POST /orders/{order.id}/shipments",
            f"GET /orders/{order.id}/products",
            f"GET /orders/{order.id}/shipments",
        ]
        assert order.shipments == [by_hand]
        [row] = await rig.despatches(channel_id)
        assert (row["state"], row["reason"]) == (
            "not_written",
            "every item was already shipped in BigCommerce",
        )


async def test_units_shipped_by_hand_in_part_are_left_out_after_the_refusal(pool: asyncpg.Pool) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        order = await remembered_order(rig, store_hash, channel_id, [LineSpec(quantity=3)])
        items = every_item(order)
        [line] = order.lines
        ship_by_hand(rig, store_hash, order, line.id, 1)
        await rig.record(despatch(channel_id, store_hash, order.id, items=items))

        await rig.writer().flush_once()

        assert rig.api_calls(store_hash) == [
            f"POST /orders/{order.id}/shipments",
            f"GET /orders/{order.id}/products",
            f"GET /orders/{order.id}/shipments",
            f"POST /orders/{order.id}/shipments",
            f"PUT /orders/{order.id}",
        ]
        assert [sum(i.quantity for i in s.items) for s in order.shipments] == [1, 2]
        assert line.quantity_shipped == 3
        assert order.status_id == statuses.COMPLETED
        [row] = await rig.despatches(channel_id)
        assert row["state"] == "written"
        assert (
            row["reason"] == "some units had already shipped in BigCommerce; wrote the units still unshipped"
        )
        assert row["shipment_ids"] == [order.shipments[1].id]


@pytest.mark.parametrize("status_id", sorted(statuses.CANCELLED_STATUSES))
async def test_a_despatch_for_a_cancelled_order_fails_without_a_request_and_can_be_retried(
    pool: asyncpg.Pool, status_id: int
) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        order = rig.order(store_hash)
        await rig.remember(store_hash, channel_id, order, status_id=status_id)
        await rig.record(despatch(channel_id, store_hash, order.id))
        writer = rig.writer()

        report = await writer.flush_once()

        assert (report.written, report.failed) == (0, 1)
        assert rig.api_calls(store_hash) == []
        assert order.shipments == []
        [failed] = await list_despatches(pool, channel_id, "failed")
        assert (failed.order_id, failed.reason) == (order.id, ORDER_CANCELLED)
        last_error = await pool.fetchval(
            "SELECT last_writeback_error FROM channels WHERE id = $1", channel_id
        )
        assert ORDER_CANCELLED in last_error

        # the merchant reinstates the order (the poller's change detection updates the memory), then retries
        await rig.remember(store_hash, channel_id, order, status_id=statuses.AWAITING_SHIPMENT)
        assert await retry_despatch(pool, channel_id, order.id) == 1
        await writer.flush_once()

        assert len(order.shipments) == 1
        assert await list_despatches(pool, channel_id, "failed") == []


async def test_a_shipment_posted_before_the_cancellation_was_seen_stays_written(pool: asyncpg.Pool) -> None:
    # one attempt per call: the writer never hears the POST succeed, the despatch stays 'posting'
    async with writer_rig(pool, max_attempts=1) as rig:
        store_hash, channel_id = await rig.new_channel()
        order = await remembered_order(rig, store_hash, channel_id)
        await rig.record(despatch(channel_id, store_hash, order.id, items=every_item(order)))
        rig.sandbox.faults(store_hash).add(Fault("apply_then_timeout", method="POST", times=1, hang_s=5))
        writer = rig.writer()
        await writer.flush_once()
        [row] = await rig.despatches(channel_id)
        assert row["state"] == "posting"

        await rig.remember(store_hash, channel_id, order, status_id=statuses.CANCELLED)
        rig.time.advance(1800)
        await writer.flush_once()

        [shipment] = order.shipments
        [row] = await rig.despatches(channel_id)
        assert (row["state"], row["shipment_ids"]) == ("written", [shipment.id])
        assert [c.split()[0] for c in rig.api_calls(store_hash)].count("POST") == 1


async def test_a_despatch_naming_an_item_the_memory_lacks_is_checked_against_bigcommerce(
    pool: asyncpg.Pool,
) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        order = rig.order(store_hash, [LineSpec(), LineSpec(name="Added later")])
        first, added = order.lines
        await rig.remember(store_hash, channel_id, order)
        # the memory as it was before the merchant added a line
        await pool.execute(
            "UPDATE downloaded_orders SET consignments = $1 WHERE order_id = $2",
            [
                {
                    "order_address_id": first.order_address_id,
                    "address_sha256": "0" * 64,
                    "items": [{"order_product_id": first.id, "quantity": 1}],
                }
            ],
            order.id,
        )
        await rig.record(
            despatch(channel_id, store_hash, order.id, items=[{"order_product_id": added.id, "quantity": 1}])
        )

        await rig.writer().flush_once()

        assert rig.api_calls(store_hash) == [
            f"GET /orders/{order.id}/products",
            f"POST /orders/{order.id}/shipments",
        ]
        [shipment] = order.shipments
        assert [i.order_product_id for i in shipment.items] == [added.id]
        assert order.status_id == statuses.PARTIALLY_SHIPPED  # the first line is still to ship


async def test_a_parcel_already_there_under_its_tracking_number_is_found_by_reading_the_shipments(
    pool: asyncpg.Pool,
) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        order = rig.order(store_hash, [LineSpec(quantity=2)])
        [line] = order.lines
        # the merchant typed Royal Mail's tracking number into BigCommerce before Click & Drop said so
        by_hand = ship_by_hand(rig, store_hash, order, line.id, 2)
        by_hand.tracking_number = "TT000000777GB"
        await rig.record(despatch(channel_id, store_hash, order.id, tracking_number="TT000000777GB"))

        await rig.writer().flush_once()

        # nothing left on the lines: the order's shipments are read to tell written from not written;
        # written, the order moves to the channel's despatched status like any written despatch
        assert rig.api_calls(store_hash) == [
            f"GET /orders/{order.id}/products",
            f"GET /orders/{order.id}/shipments",
            f"PUT /orders/{order.id}",
        ]
        [row] = await rig.despatches(channel_id)
        assert (row["state"], row["shipment_ids"]) == ("written", [by_hand.id])
        assert row["reason"] == f"already in BigCommerce as shipment {by_hand.id}"
        assert row["request"] is None  # not the connector's request: never counted as its shipment


async def test_a_refusal_not_explained_by_the_order_fails_with_bigcommerces_reason_and_is_not_resent(
    pool: asyncpg.Pool,
) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        order = await remembered_order(rig, store_hash, channel_id)
        await rig.record(despatch(channel_id, store_hash, order.id, items=every_item(order)))
        rig.sandbox.faults(store_hash).add(Fault("status", status=422, method="POST", times=1))
        writer = rig.writer()

        report = await writer.flush_once()

        # the order, read, still has every unit to ship: the refused request would be the same again
        assert rig.api_calls(store_hash) == [
            f"POST /orders/{order.id}/shipments",
            f"GET /orders/{order.id}/products",
            f"GET /orders/{order.id}/shipments",
        ]
        assert (report.written, report.failed) == (0, 1)
        [failed] = await list_despatches(pool, channel_id, "failed")
        assert failed.reason.startswith("BigCommerce refused the shipment")
        assert order.shipments == []

        assert await retry_despatch(pool, channel_id, order.id) == 1
        await writer.flush_once()

        assert len(order.shipments) == 1
        assert order.status_id == statuses.COMPLETED
        assert await list_despatches(pool, channel_id, "failed") == []
