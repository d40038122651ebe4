"""The shipping rules the poller and the status writer share: what ships, how many units, where to."""

from __future__ import annotations

from typing import Any

from common.bigcommerce.models import OrderProduct
from common.shipping_rules import (
    lacks_address,
    lines_to_ship,
    only_address,
    ships_in_parcel,
    units_to_ship,
    with_only_address,
)


def line(pid: int, *, address: int = 7, quantity: int = 1, **extra: Any) -> OrderProduct:
    return OrderProduct(id=pid, order_address_id=address, quantity=quantity, **extra)


def test_only_physical_lines_not_picked_up_ship_in_a_parcel() -> None:
    assert ships_in_parcel(line(1))
    assert not ships_in_parcel(line(1, type="digital"))
    assert not ships_in_parcel(line(1, type="giftcertificate"))
    assert not ships_in_parcel(line(1, order_pickup_method_id=2))


def test_units_to_ship_leave_out_shipped_and_refunded_units() -> None:
    assert units_to_ship(line(1, quantity=5)) == 5
    assert units_to_ship(line(1, quantity=5, quantity_shipped=2)) == 3
    assert units_to_ship(line(1, quantity=5, quantity_shipped=2, quantity_refunded=1)) == 2
    assert units_to_ship(line(1, quantity=2, quantity_shipped=2, quantity_refunded=1)) == 0


def test_units_in_shipments_count_as_shipped_when_the_line_count_lags() -> None:
    assert units_to_ship(line(1, quantity=5), in_shipments=2) == 3
    # the larger of the two counts, not their sum: they normally describe the same units
    assert units_to_ship(line(1, quantity=5, quantity_shipped=3), in_shipments=2) == 2
    assert units_to_ship(line(1, quantity=5, quantity_refunded=1), in_shipments=4) == 0


def test_lines_to_ship_keep_their_order_and_leave_out_what_does_not_ship() -> None:
    kept = lines_to_ship(
        [
            line(1),
            line(2, type="digital"),
            line(3, order_pickup_method_id=2),
            line(4),
            line(5, quantity=2, quantity_shipped=2),
        ]
    )
    assert [ln.id for ln in kept] == [1, 4]


def test_a_line_without_an_address_ships_to_the_orders_only_address() -> None:
    bare = [line(1, address=0), line(2, address=3), line(3, type="digital", address=0)]
    assert lacks_address(bare)
    assert not lacks_address([line(1), line(3, type="digital", address=0)])
    assert only_address([44]) == 44
    assert [ln.order_address_id for ln in with_only_address(bare, [44])] == [44, 3, 44]


def test_with_several_addresses_or_none_nothing_is_guessed() -> None:
    bare = [line(1, address=0)]
    assert only_address([44, 45]) is None
    assert only_address([]) is None
    assert with_only_address(bare, [44, 45]) == bare
    assert with_only_address(bare, []) == bare
