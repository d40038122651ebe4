"""Downloading a store: exactly the eligible orders, each once, as CONTRACT §3 describes them."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import asyncpg
from aio_pika.abc import AbstractQueue
from bigcommerce_sandbox.builders import AddressSpec, LineSpec
from bigcommerce_sandbox.generator import generate_orders
from bigcommerce_sandbox.models import Address, Order
from common.db.order_counts import order_counts
from common.order_memory import memory_from_row, remember
from common.outbox import OutboxRelay

from tests.support.order_poller import (
    Rig,
    add_channel,
    downloaded_ids,
    outbox_rows,
    probe_is_empty,
    received_events,
    without_listed_weights,
)

GRAMS = {
    "Grams": Decimal(1),
    "Kilograms": Decimal(1000),
    "Ounces": Decimal("28.349523125"),
    "Pounds": Decimal("453.59237"),
}
CENT = Decimal("0.01")


def eligible(order: Order, rig: Rig, statuses: tuple[int, ...] = (9,)) -> bool:
    """The contract's rule, read off the sandbox's own data."""
    return (
        order.status_id in statuses
        and not order.is_deleted
        and order.date_created >= rig.time.now() - timedelta(days=7)
        and any(
            ln.type == "physical" and ln.order_pickup_method_id == 0 and ln.quantity - ln.quantity_shipped > 0
            for ln in order.lines
        )
    )


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def address_json(address: Address) -> dict[str, str]:
    return {
        "first_name": address.first_name,
        "last_name": address.last_name,
        "company": address.company,
        "street_1": address.street_1,
        "street_2": address.street_2,
        "city": address.city,
        "state": address.state,
        "zip": address.zip,
        "country": address.country,
        "country_iso2": address.country_iso2,
        "phone": address.phone,
        "email": address.email,
    }


def expected_order(order: Order, weight_units: str) -> dict[str, Any]:
    """The `order` of the OrderDownloaded event, built from the sandbox order."""
    consignments = []
    for shipping in sorted(order.addresses, key=lambda a: a.id):
        lines = [
            ln
            for ln in sorted(order.lines, key=lambda ln: ln.id)
            if ln.order_address_id == shipping.id and ln.type == "physical" and ln.order_pickup_method_id == 0
        ]
        if not lines:
            continue
        consignments.append(
            {
                "order_address_id": shipping.id,
                "address": address_json(shipping.address),
                "shipping_method": shipping.shipping_method,
                "items": [
                    {
                        "order_product_id": ln.id,
                        "product_id": ln.product_id,
                        "variant_id": ln.variant_id,
                        "sku": ln.sku,
                        "name": ln.name,
                        "quantity": ln.quantity - ln.quantity_shipped,
                        "unit_price_inc_tax": money(ln.price_inc_tax),
                        "weight_grams": money(ln.weight * GRAMS[weight_units]),
                    }
                    for ln in lines
                ],
            }
        )
    return {
        "order_id": order.id,
        "status_id": order.status_id,
        "date_created": order.date_created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "date_modified": order.date_modified.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "currency_code": order.currency_code,
        "subtotal_inc_tax": money(order.subtotal_inc_tax),
        "shipping_cost_inc_tax": money(order.shipping_cost_inc_tax),
        "total_inc_tax": money(order.total_inc_tax),
        "customer_message": order.customer_message,
        "billing_address": address_json(order.billing_address),
        "consignments": consignments,
    }


def add_special_orders(rig: Rig, store_hash: str) -> None:
    """Kinds the generator does not make: pickup, archived, too old, gift certificate only."""
    sb, now = rig.sandbox, rig.time.now()
    pickup_only = sb.add_order(store_hash, [LineSpec(name="Click and collect")])
    pickup_only.lines[0].order_pickup_method_id = 1
    mixed_pickup = sb.add_order(store_hash, [LineSpec(name="Posted"), LineSpec(name="Collected")])
    mixed_pickup.lines[1].order_pickup_method_id = 2
    sb.add_order(store_hash, [LineSpec(name="Archived")], is_deleted=True)
    sb.add_order(store_hash, [LineSpec(name="Too old")], created=now - timedelta(days=7, minutes=1))
    sb.add_order(store_hash, [LineSpec(name="Just in")], created=now - timedelta(days=6, hours=23))
    sb.add_order(store_hash, [LineSpec(name="£10 card", type="giftcertificate")])
    sb.add_order(store_hash, [LineSpec(name="E-book", type="digital")])
    sb.add_order(
        store_hash,
        [
            LineSpec(name="To Cardiff", quantity=2),
            LineSpec(name="To Łódź", address=1),
            LineSpec(name="Also Cardiff"),
        ],
        addresses=[
            AddressSpec(),
            AddressSpec(shipping_method="International Tracked", cost_inc_tax="9.5000"),
        ],
        customer_message="Proszę dzwonić, ring twice",
    )
    sb.add_order(store_hash, [LineSpec(name="Awaiting fulfilment")], status_id=11)


async def poll_and_relay(rig: Rig, relay: OutboxRelay, rounds: int = 1) -> int:
    published = 0
    poller = rig.poller()
    for _ in range(rounds):
        await poller.run_once()
        published += await relay.run_once()
        rig.time.advance(901)  # every channel is due again
    return published


async def test_generated_store_publishes_exactly_the_eligible_orders_once_each(
    rig: Rig, pool: asyncpg.Pool, relay: tuple[OutboxRelay, AbstractQueue]
) -> None:
    outbox, probe = relay
    store_hash, token = rig.new_store(weight_units="Ounces")
    store = rig.sandbox.store(store_hash)
    generate_orders(store, count=200, now=rig.time.now(), seed=11, max_age_days=10)
    add_special_orders(rig, store_hash)
    channel_id = await add_channel(pool, rig.cipher, store_hash, token)
    expected = {o.id: o for o in store.orders.values() if eligible(o, rig)}
    assert len(expected) > 20  # the generator covers the kinds; make sure the test means something

    published = await poll_and_relay(rig, outbox, rounds=4)

    events = await received_events(probe, published)
    assert published == len(expected)
    assert sorted(e.order.order_id for e in events) == sorted(expected)
    assert await probe_is_empty(probe)
    for event in events:
        body = json.loads(event.to_json())
        assert body["channel_id"] == str(channel_id)
        assert body["store_hash"] == store_hash
        assert body["trading_name"] == "Zoë's Shop"
        assert body["order"] == expected_order(expected[event.order.order_id], "Ounces")
    # the wire format itself: money strings and Z times, not re-serialised by the test
    rows = await outbox_rows(pool)
    raw = json.loads(rows[0]["body"])
    assert raw["occurred_at"].endswith("Z")
    assert isinstance(raw["order"]["total_inc_tax"], str)
    counts = await order_counts(pool, channel_id)
    assert counts.downloaded_orders == len(expected)
    assert counts.skipped_by_reason["no_physical_items"] == 1  # the pickup-only order
    # what is remembered of each order is what was published, the address only as a digest
    for event in events:
        row = await pool.fetchrow(
            "SELECT status_id, consignments AS c, consignments::text AS t FROM downloaded_orders WHERE order_id = $1",
            event.order.order_id,
        )
        assert memory_from_row(row["status_id"], row["c"]) == remember(event.order)
        assert event.order.consignments[0].address.street_1 not in row["t"]
    assert counts.skipped_by_reason["digital_order"] >= 2  # e-book and gift card only (and generated)


async def test_mixed_and_multi_address_orders_carry_only_their_physical_lines(
    rig: Rig, pool: asyncpg.Pool, relay: tuple[OutboxRelay, AbstractQueue]
) -> None:
    outbox, probe = relay
    store_hash, token = rig.new_store(weight_units="Kilograms")
    order = rig.sandbox.add_order(
        store_hash,
        [
            LineSpec(name="Mug", quantity=2, weight="0.35", price_inc_tax="9.9900"),
            LineSpec(name="Pan", weight="2.3", address=1, price_inc_tax="39.0000"),
            LineSpec(name="E-book", type="digital"),
            LineSpec(name="Gift card", type="giftcertificate"),
            LineSpec(name="Scarf", address=1, quantity=3, quantity_shipped=1),
        ],
        addresses=[AddressSpec(), AddressSpec(shipping_method="Royal Mail Tracked 24")],
    )
    await add_channel(pool, rig.cipher, store_hash, token)

    assert await poll_and_relay(rig, outbox) == 1

    (event,) = await received_events(probe, 1)
    consignments = event.order.consignments
    assert [c.order_address_id for c in consignments] == [a.id for a in order.addresses]
    assert [(i.name, i.quantity, str(i.weight_grams)) for i in consignments[0].items] == [
        ("Mug", 2, "350.00")
    ]
    assert [(i.name, i.quantity) for i in consignments[1].items] == [("Pan", 1), ("Scarf", 2)]
    assert consignments[1].shipping_method == "Royal Mail Tracked 24"
    assert json.loads(event.to_json())["order"]["consignments"][1]["items"][0]["weight_grams"] == "2300.00"


async def test_pagination_reads_past_250_orders(
    rig: Rig, pool: asyncpg.Pool, relay: tuple[OutboxRelay, AbstractQueue]
) -> None:
    outbox, probe = relay
    store_hash, token = rig.new_store()
    for index in range(263):
        rig.sandbox.add_order(store_hash, [LineSpec(name=f"Item {index}")])
    await add_channel(pool, rig.cipher, store_hash, token, weight_units="Grams")

    assert await poll_and_relay(rig, outbox) == 263

    events = await received_events(probe, 263)
    assert len({e.order.order_id for e in events}) == 263
    listings = [
        r
        for r in rig.sandbox.requests(store_hash)
        if r.path.endswith("/v2/orders") and "min_date_created" in r.query
    ]
    assert len(listings) == 2
    assert all("limit=250" in r.query for r in listings)
    assert "page=2" in listings[1].query


async def test_calls_per_order_and_nothing_refetched_on_later_polls(
    rig: Rig, pool: asyncpg.Pool, relay: tuple[OutboxRelay, AbstractQueue]
) -> None:
    outbox, _ = relay
    store_hash, token = rig.new_store()
    for _ in range(20):
        rig.sandbox.add_order(store_hash)
    rig.sandbox.add_order(store_hash, [LineSpec(type="digital", name="E-book")])
    await add_channel(pool, rig.cipher, store_hash, token)

    assert await poll_and_relay(rig, outbox) == 20
    first = rig.api_requests(store_hash)
    # /v2/store once (then cached), one listing and one listing of modified orders: the listing's
    # consignments carry each order's addresses and lines, so no order costs a request of its own
    assert first == [f"GET /stores/{store_hash}/v2/store"] + [f"GET /stores/{store_hash}/v2/orders"] * 2
    listing = next(r for r in rig.sandbox.requests(store_hash) if r.path.endswith("/v2/orders"))
    assert "include=consignments.line_items" in listing.query
    assert "consignment_structure=object" in listing.query
    rig.sandbox.clear_requests(store_hash)

    assert await poll_and_relay(rig, outbox, rounds=2) == 0
    # later polls list the window and the modified orders and stop: every order is known already
    assert rig.api_requests(store_hash) == [f"GET /stores/{store_hash}/v2/orders"] * 4


async def test_orders_whose_listed_lines_lack_weights_are_read_from_products_alone(
    rig: Rig, pool: asyncpg.Pool, relay: tuple[OutboxRelay, AbstractQueue]
) -> None:
    outbox, probe = relay
    store_hash, token = rig.new_store(weight_units="Kilograms")
    orders = [rig.sandbox.add_order(store_hash, [LineSpec(weight="1.25")]) for _ in range(6)]
    lacking = [orders[1], orders[4]]
    without_listed_weights(*lacking)
    await add_channel(pool, rig.cipher, store_hash, token)

    assert await poll_and_relay(rig, outbox) == 6

    per_order = [r for r in rig.api_requests(store_hash) if "/orders/" in r]
    assert sorted(per_order) == sorted(
        f"GET /stores/{store_hash}/v2/orders/{o.id}/{what}"
        for o in lacking
        for what in ("products", "shipping_addresses")
    )
    events = {e.order.order_id: e for e in await received_events(probe, 6)}
    # the same event either way: the weight comes from /products where the listing lacks it
    for order in orders:
        assert json.loads(events[order.id].to_json())["order"] == expected_order(order, "Kilograms")
    assert {str(events[o.id].order.consignments[0].items[0].weight_grams) for o in orders} == {"1250.00"}


async def test_new_order_is_published_on_the_next_poll_and_a_modified_one_is_not_again(
    rig: Rig, pool: asyncpg.Pool, relay: tuple[OutboxRelay, AbstractQueue]
) -> None:
    outbox, probe = relay
    store_hash, token = rig.new_store()
    first = rig.sandbox.add_order(store_hash)
    await add_channel(pool, rig.cipher, store_hash, token)
    assert await poll_and_relay(rig, outbox) == 1

    later = rig.sandbox.add_order(store_hash)
    first.date_modified = rig.time.now()
    first.customer_message = "changed after download"
    assert await poll_and_relay(rig, outbox) == 1

    events = await received_events(probe, 2)
    assert [e.order.order_id for e in events] == [first.id, later.id]
    assert await probe_is_empty(probe)
    assert await downloaded_ids(pool, store_hash) == {first.id, later.id}


async def test_configured_statuses_are_each_read_and_the_window_is_the_setting(
    rig: Rig, pool: asyncpg.Pool, relay: tuple[OutboxRelay, AbstractQueue]
) -> None:
    outbox, probe = relay
    store_hash, token = rig.new_store()
    now = rig.time.now()
    shipment = rig.sandbox.add_order(store_hash, status_id=9, created=now - timedelta(days=2))
    fulfilment = rig.sandbox.add_order(store_hash, status_id=11, created=now - timedelta(days=2))
    rig.sandbox.add_order(store_hash, status_id=11, created=now - timedelta(days=4))
    rig.sandbox.add_order(store_hash, status_id=1)
    await add_channel(pool, rig.cipher, store_hash, token, order_status_ids=(9, 11))
    poller = rig.poller(max_age_days=3)

    await poller.run_once()
    assert await outbox.run_once() == 2

    events = await received_events(probe, 2)
    assert sorted(e.order.order_id for e in events) == [shipment.id, fulfilment.id]
    listings = [
        r.query
        for r in rig.sandbox.requests(store_hash)
        if r.path.endswith("/v2/orders") and "min_date_created" in r.query
    ]
    assert sorted("status_id=9" in q for q in listings) == [False, True]
    # min_date_created carries an explicit UTC offset (reference §10)
    assert all("min_date_created=" in q and "%2B00:00" in q for q in listings)
