"""The rules of OrderChanged: which differences are which change, and which are none."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from common.bigcommerce.models import Order, OrderProduct, ShippingAddress
from common.db.despatches import is_own_writeback
from common.events import OrderChange
from common.order_memory import OrderMemory
from order_poller.changes import (
    Observed,
    build_changed_event,
    change_event_id,
    detect,
    needs_memory_update,
    observe,
)
from order_poller.mapping import OrderSkippedError

NOW = datetime(2026, 11, 27, 10, 15, tzinfo=UTC)
DOWNLOADED = (9,)


def order(status_id: int = 9, **overrides: Any) -> Order:
    return Order.model_validate(
        {
            "id": 101,
            "status_id": status_id,
            "date_created": "Tue, 24 Nov 2026 09:30:00 +0000",
            "date_modified": "Wed, 25 Nov 2026 11:00:05 +0000",
            "currency_code": "GBP",
            **overrides,
        }
    )


def line(line_id: int, quantity: int = 1, address: int = 1, **overrides: Any) -> OrderProduct:
    return OrderProduct.model_validate(
        {
            "id": line_id,
            "product_id": 7,
            "name": f"Line {line_id}",
            "quantity": quantity,
            "order_address_id": address,
            "price_inc_tax": "10.00",
            "weight": "100",
            **overrides,
        }
    )


def address(address_id: int = 1, city: str = "London", method: str = "Tracked 48") -> ShippingAddress:
    return ShippingAddress.model_validate(
        {
            "id": address_id,
            "first_name": "Zoë",
            "street_1": "1 Test St",
            "city": city,
            "shipping_method": method,
        }
    )


def seen(status_id: int, lines: list[OrderProduct], addresses: list[ShippingAddress]) -> Observed:
    return observe(order(status_id), lines, addresses)


BEFORE_LINES = [line(1, 2), line(2, 1, address=2)]
BEFORE_ADDRESSES = [address(1), address(2, city="Leeds")]
BEFORE = seen(9, BEFORE_LINES, BEFORE_ADDRESSES).memory()


def changes(now: Observed, *, before: OrderMemory = BEFORE) -> tuple[OrderChange, ...]:
    return detect(before, now, downloaded_statuses=DOWNLOADED)


@pytest.mark.parametrize("status_id", [4, 5, 6])
def test_cancelled_refunded_declined(status_id: int) -> None:
    assert changes(seen(status_id, BEFORE_LINES, BEFORE_ADDRESSES)) == ("cancelled",)


def test_refund_takes_units_off_without_an_items_change() -> None:
    refunded = [line(1, 2, quantity_refunded=2), line(2, 1, address=2, quantity_refunded=1)]
    now = seen(4, refunded, BEFORE_ADDRESSES)
    assert changes(now) == ("cancelled",)
    assert now.memory().consignments == ()


def test_a_move_between_cancelled_statuses_is_no_news_but_is_remembered() -> None:
    cancelled = seen(5, BEFORE_LINES, BEFORE_ADDRESSES).memory()
    now = seen(4, BEFORE_LINES, BEFORE_ADDRESSES)
    assert changes(now, before=cancelled) == ()
    assert needs_memory_update(cancelled, now)


def test_shipped_by_hand_is_status_without_an_items_change() -> None:
    shipped = [line(1, 2, quantity_shipped=2), line(2, 1, address=2, quantity_shipped=1)]
    now = seen(2, shipped, BEFORE_ADDRESSES)
    assert changes(now) == ("status",)
    assert now.memory().consignments == ()  # nothing left to ship, as the writer will read it


def test_a_move_between_statuses_outside_the_downloaded_ones_is_no_news() -> None:
    shipped = seen(2, BEFORE_LINES, BEFORE_ADDRESSES).memory()
    now = seen(10, BEFORE_LINES, BEFORE_ADDRESSES)
    assert changes(now, before=shipped) == ()
    assert needs_memory_update(shipped, now)
    assert changes(seen(4, BEFORE_LINES, BEFORE_ADDRESSES), before=shipped) == ("cancelled",)


def test_own_writeback_needs_a_despatch_and_a_writeback_status() -> None:
    assert is_own_writeback(2, has_despatch=True)
    assert is_own_writeback(10, has_despatch=True)
    assert not is_own_writeback(2, has_despatch=False)
    assert not is_own_writeback(5, has_despatch=True)


def test_a_move_within_the_downloaded_statuses_is_no_news() -> None:
    now = seen(11, BEFORE_LINES, BEFORE_ADDRESSES)
    assert detect(BEFORE, now, downloaded_statuses=(9, 11)) == ()
    assert changes(now) == ("status",)


def test_address_and_shipping_method_of_one_consignment() -> None:
    assert changes(seen(9, BEFORE_LINES, [address(1), address(2, city="York")])) == ("address",)
    assert changes(seen(9, BEFORE_LINES, [address(1, method="Next Day"), BEFORE_ADDRESSES[1]])) == (
        "address",
    )


def test_consignment_added_or_removed() -> None:
    removed = seen(9, [line(1, 2)], [address(1)])
    assert changes(removed) == ("address", "items")
    added = seen(9, [*BEFORE_LINES, line(3, 1, address=3)], [*BEFORE_ADDRESSES, address(3, city="Bath")])
    assert changes(added) == ("address", "items")


def test_quantities_and_lines() -> None:
    assert changes(seen(9, [line(1, 3), BEFORE_LINES[1]], BEFORE_ADDRESSES)) == ("items",)
    assert changes(seen(9, [line(1, 1), BEFORE_LINES[1]], BEFORE_ADDRESSES)) == ("items",)
    assert changes(seen(9, [*BEFORE_LINES, line(4, 1)], BEFORE_ADDRESSES)) == ("items",)
    # a line that no longer ships as a parcel (became a pickup) is gone from the label, and with it
    # the only parcel to its address
    pickup = [line(1, 2, order_pickup_method_id=3), BEFORE_LINES[1]]
    assert changes(seen(9, pickup, BEFORE_ADDRESSES)) == ("address", "items")


def test_a_touch_is_nothing() -> None:
    now = seen(9, BEFORE_LINES, BEFORE_ADDRESSES)
    assert changes(now) == ()
    assert not needs_memory_update(BEFORE, now)


def test_several_changes_at_once_in_the_contracts_order() -> None:
    now = seen(5, [line(1, 3), BEFORE_LINES[1]], [address(1, city="Hull"), BEFORE_ADDRESSES[1]])
    assert changes(now) == ("cancelled", "address", "items")


def test_the_event_id_is_the_same_for_the_same_find_and_new_for_a_later_one() -> None:
    memory = seen(5, BEFORE_LINES, BEFORE_ADDRESSES).memory()
    first = change_event_id("abc", 101, NOW, memory)
    assert first == change_event_id("abc", 101, NOW, memory)
    assert first != change_event_id("abc", 101, NOW.replace(second=59), memory)
    assert first != change_event_id("abc", 102, NOW, memory)


def build(status_id: int, lines: list[OrderProduct], changes: tuple[OrderChange, ...]) -> Any:
    now = seen(status_id, lines, BEFORE_ADDRESSES)
    return build_changed_event(
        channel_id=uuid.uuid4(),
        store_hash="abc",
        trading_name="Shop",
        weight_units="Grams",
        order=order(status_id),
        lines=lines,
        addresses=BEFORE_ADDRESSES,
        downloaded_event_id=uuid.uuid4(),
        changes=changes,
        memory=now.memory(),
        occurred_at=NOW,
    )


def test_the_order_as_it_is_now_lists_units_left_or_all_as_ordered_when_none_are() -> None:
    partly = build(9, [line(1, 2, quantity_shipped=1), line(2, 1, address=2, quantity_shipped=1)], ("items",))
    assert [(c.order_address_id, [i.quantity for i in c.items]) for c in partly.order.consignments] == [
        (1, [1])
    ]
    refunded = build(
        4, [line(1, 2, quantity_refunded=2), line(2, 1, address=2, quantity_refunded=1)], ("cancelled",)
    )
    assert [(c.order_address_id, [i.quantity for i in c.items]) for c in refunded.order.consignments] == [
        (1, [2]),
        (2, [1]),
    ]
    assert refunded.order.status_id == 4


def test_an_order_with_no_parcel_line_at_all_cannot_be_announced() -> None:
    with pytest.raises(OrderSkippedError):
        build(5, [line(1, 1, type="digital")], ("cancelled",))
