"""Planning shipments from despatches and the order's state in BigCommerce (no network)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from common.bigcommerce.models import NewShipment, OrderProduct, Shipment
from common.db.despatches import dedupe_key
from common.events import OrderDespatched
from common.order_memory import OrderMemory, RememberedConsignment, RememberedItem
from common.shipping_rules import with_only_address
from status_writer.db.writeback import DueDespatch
from status_writer.planning import (
    cancel,
    fully_shipped,
    lines_from_memory,
    plan_order,
    ships_exactly,
    tracking_link,
)


def product(pid: int, *, address: int = 1, quantity: int = 1, shipped: int = 0, **extra: Any) -> OrderProduct:
    return OrderProduct(
        id=pid, order_id=9, order_address_id=address, quantity=quantity, quantity_shipped=shipped, **extra
    )


def due(did: int, **fields: Any) -> DueDespatch:
    values: dict[str, Any] = {
        "id": did,
        "order_id": 9,
        "order_address_id": None,
        "items": None,
        "tracking_number": f"TN{did}",
        "service_name": "Tracked 24",
        "state": "pending",
        "request": None,
        "attempts": 0,
    }
    values.update(fields)
    return DueDespatch.model_validate(values)


def shipment(sid: int, address: int, tracking: str, items: list[tuple[int, int]]) -> Shipment:
    return Shipment(
        id=sid,
        order_id=9,
        order_address_id=address,
        tracking_number=tracking,
        items=[{"order_product_id": p, "quantity": q} for p, q in items],
    )


def test_tracking_link_is_royal_mails_page_for_the_number() -> None:
    assert tracking_link("TT123456785GB") == (
        "https://www.royalmail.com/track-your-item#/tracking-results/TT123456785GB"
    )


def test_items_omitted_ship_every_unshipped_physical_unit_per_address() -> None:
    products = [
        product(1, quantity=3, shipped=1),
        product(2, address=2),
        product(3, type="digital", address=0),
        product(4, order_pickup_method_id=5),
        product(5, quantity=2, quantity_refunded=2),
    ]
    plan = plan_order(9, [due(1)], products, [])
    bodies = sorted((p.body for p in plan.shipments), key=lambda b: b.order_address_id)
    assert [(b.order_address_id, [(i.order_product_id, i.quantity) for i in b.items]) for b in bodies] == [
        (1, [(1, 2)]),
        (2, [(2, 1)]),
    ]
    assert bodies[0].to_body() == {
        "order_address_id": 1,
        "items": [{"order_product_id": 1, "quantity": 2}],
        "tracking_number": "TN1",
        "shipping_provider": "royalmail",
        "tracking_carrier": "",
        "tracking_link": tracking_link("TN1"),
        "shipping_method": "Tracked 24",
    }
    assert fully_shipped(plan.units_left)


def test_same_parcel_merges_and_other_parcels_stay_apart() -> None:
    products = [product(1), product(2), product(3)]
    despatches = [
        due(1, items=[{"order_product_id": 1, "quantity": 1}], tracking_number="A"),
        due(2, items=[{"order_product_id": 2, "quantity": 1}], tracking_number="A"),
        due(3, items=[{"order_product_id": 3, "quantity": 1}], tracking_number="B"),
    ]
    plan = plan_order(9, despatches, products, [])
    assert [(p.body.tracking_number, p.despatch_ids) for p in plan.shipments] == [("A", (1, 2)), ("B", (3,))]


def test_a_second_despatch_of_shipped_units_ships_nothing() -> None:
    products = [product(1, shipped=1)]
    done = plan_order(9, [due(1, tracking_number="A")], products, [shipment(70, 1, "A", [(1, 1)])])
    assert done.shipments == []
    assert [(r.state, r.shipment_ids) for r in done.resolved] == [("written", (70,))]
    by_hand = plan_order(9, [due(2, tracking_number="Z")], products, [shipment(70, 1, "A", [(1, 1)])])
    assert [(r.state, r.reason) for r in by_hand.resolved] == [
        ("not_written", "every item was already shipped in BigCommerce")
    ]


def test_explicit_items_are_clamped_to_what_is_left_and_noted() -> None:
    plan = plan_order(
        9, [due(1, items=[{"order_product_id": 1, "quantity": 3}])], [product(1, quantity=3, shipped=2)], []
    )
    assert [(i.order_product_id, i.quantity) for i in plan.shipments[0].body.items] == [(1, 1)]
    assert "already shipped" in plan.notes[1]


def test_posting_despatch_found_in_bigcommerce_is_written_without_a_request() -> None:
    body = {
        "order_address_id": 1,
        "items": [{"order_product_id": 1, "quantity": 1}],
        "tracking_number": "TN1",
        "shipping_provider": "royalmail",
    }
    posting = due(1, state="posting", request=[body])
    plan = plan_order(9, [posting], [product(1, shipped=1)], [shipment(55, 1, "TN1", [(1, 1)])])
    assert plan.shipments == []
    assert [(r.state, r.shipment_ids) for r in plan.resolved] == [("written", (55,))]
    # not there: planned again, from what is still unshipped
    again = plan_order(9, [posting], [product(1)], [])
    assert len(again.shipments) == 1


def test_invalid_despatches_fail_with_a_plain_reason() -> None:
    products = [product(1), product(2, type="digital", address=0)]
    plan = plan_order(
        9,
        [
            due(1, order_address_id=77),
            due(2, items=[{"order_product_id": 2, "quantity": 1}]),
            due(3, order_address_id=1, items=[{"order_product_id": 99, "quantity": 1}]),
        ],
        products,
        [],
    )
    assert [(r.state, r.reason) for r in plan.resolved] == [
        ("failed", "order_address_id 77 is not a shipping address of order 9"),
        ("failed", "order_product_id 2 is not a physical item of order 9"),
        ("failed", "order_product_id 99 is not a physical item of order 9"),
    ]
    assert plan.shipments == []


def test_dedupe_key_names_what_is_shipped_not_the_event() -> None:
    channel = uuid.uuid4()
    when = datetime(2026, 1, 1, tzinfo=UTC)

    def event(**fields: Any) -> OrderDespatched:
        return OrderDespatched(channel_id=channel, store_hash="s", order_id=5, despatched_at=when, **fields)

    items_ab = [{"order_product_id": 1, "quantity": 1}, {"order_product_id": 2, "quantity": 2}]
    items_ba = list(reversed(items_ab))
    assert dedupe_key(event(items=items_ab, tracking_number="tt1")) == dedupe_key(
        event(items=items_ba, tracking_number="TT1")
    )
    assert dedupe_key(event(tracking_number="TT1")) != dedupe_key(event(tracking_number="TT2"))
    assert dedupe_key(event(order_address_id=3)) != dedupe_key(event())


def test_a_despatch_without_tracking_number_is_still_a_shipment_without_tracking_fields() -> None:
    plan = plan_order(9, [due(1, tracking_number=None, service_name=None)], [product(1, quantity=2)], [])

    [shipment_plan] = plan.shipments
    assert shipment_plan.body.to_body() == {
        "order_address_id": 1,
        "items": [{"order_product_id": 1, "quantity": 2}],
        "shipping_provider": "royalmail",
        "tracking_carrier": "",
    }
    assert fully_shipped(plan.units_left)


def test_lines_without_an_address_ship_to_the_orders_only_address() -> None:
    bare = [product(1, address=0), product(2, address=0, quantity=3), product(3, type="digital", address=0)]
    lines = with_only_address(bare, [44])
    plan = plan_order(9, [due(1, order_address_id=44)], lines, [])

    [shipment_plan] = plan.shipments
    assert shipment_plan.body.order_address_id == 44
    assert [(i.order_product_id, i.quantity) for i in shipment_plan.body.items] == [(1, 1), (2, 3)]


def test_units_in_existing_shipments_count_as_shipped_even_if_the_line_count_lags() -> None:
    # a store whose lines do not (yet) show quantity_shipped for a shipment it already has
    products = [product(1, quantity=2), product(2, quantity=1)]
    existing = [shipment(7, 1, "TN1", [(1, 2)])]

    plan = plan_order(9, [due(2, tracking_number="TN2")], products, existing)

    [shipment_plan] = plan.shipments
    assert [(i.order_product_id, i.quantity) for i in shipment_plan.body.items] == [(2, 1)]
    again = plan_order(9, [due(3, items=[{"order_product_id": 1, "quantity": 2}])], products, existing)
    assert again.shipments == []
    assert [r.state for r in again.resolved] == ["not_written"]


def remembered(*consignments: tuple[int, list[tuple[int, int]]], status_id: int = 9) -> OrderMemory:
    return OrderMemory(
        status_id=status_id,
        consignments=tuple(
            RememberedConsignment(
                order_address_id=address,
                address_sha256="0" * 64,
                items=tuple(RememberedItem(order_product_id=p, quantity=q) for p, q in items),
            )
            for address, items in consignments
        ),
    )


def test_memory_plans_what_is_left_after_the_connectors_own_shipments() -> None:
    memory = remembered((1, [(10, 3), (11, 1)]), (2, [(12, 1)]))
    ours = [shipment(900, 1, "TT1", [(10, 2)])]
    wanted = [{"order_product_id": 10, "quantity": 1}, {"order_product_id": 11, "quantity": 1}]
    despatches = [due(1, items=wanted)]

    plan = plan_order(9, despatches, lines_from_memory(memory), ours)

    [shipment_plan] = plan.shipments
    assert shipment_plan.body.order_address_id == 1
    assert [(i.order_product_id, i.quantity) for i in shipment_plan.body.items] == [(10, 1), (11, 1)]
    assert ships_exactly(plan, despatches)
    assert plan.units_left == {10: 0, 11: 0, 12: 1}
    assert not fully_shipped(plan.units_left)


def test_a_memory_plan_that_cannot_ship_a_despatch_in_full_is_not_exact() -> None:
    memory = remembered((1, [(10, 1)]))
    ours = [shipment(900, 1, "TT1", [(10, 1)])]
    # already shipped by the connector, an item the memory lacks, more units than remembered
    for items in ([(10, 1)], [(77, 1)], [(10, 2)]):
        despatches = [due(1, items=[{"order_product_id": p, "quantity": q} for p, q in items])]
        shipped = ours if items == [(10, 1)] else []
        plan = plan_order(9, despatches, lines_from_memory(memory), shipped)
        assert not ships_exactly(plan, despatches), items


def test_a_cancelled_plan_posts_nothing_and_keeps_what_is_written() -> None:
    request = [
        NewShipment.model_validate(
            {
                "order_address_id": 1,
                "items": [{"order_product_id": 1, "quantity": 1}],
                "tracking_number": "TN1",
            }
        ).to_body()
    ]
    despatches = [due(1, state="posting", request=request), due(2), due(3, order_address_id=99)]
    found = [shipment(900, 1, "TN1", [(1, 1)])]
    plan = plan_order(9, despatches, [product(1), product(2)], found)

    cancelled = cancel(plan, "order cancelled in BigCommerce")

    assert cancelled.shipments == []
    outcomes = {r.despatch_id: (r.state, r.reason) for r in cancelled.resolved}
    assert outcomes == {
        1: ("written", None),
        2: ("failed", "order cancelled in BigCommerce"),
        3: ("failed", "order cancelled in BigCommerce"),
    }


def test_a_despatch_written_because_its_parcel_is_there_forgets_its_request() -> None:
    despatches = [due(1, items=[{"order_product_id": 1, "quantity": 1}], tracking_number="HAND1")]
    plan = plan_order(9, despatches, [product(1, shipped=1)], [shipment(900, 1, "HAND1", [(1, 1)])])

    [resolved] = plan.resolved
    assert (resolved.state, resolved.shipment_ids, resolved.request_matched) == ("written", (900,), False)
