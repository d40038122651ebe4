from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from common.events import Address, Consignment, DownloadedItem, DownloadedOrder
from common.order_memory import memory_from_row, remember


def _order(*, street: str = "1 High St", method: str = "Flat Rate", quantity: int = 2) -> DownloadedOrder:
    def item(line: int, units: int) -> DownloadedItem:
        return DownloadedItem(
            order_product_id=line,
            product_id=7,
            name="Mug",
            quantity=units,
            unit_price_inc_tax=Decimal("5"),
            weight_grams=Decimal("300"),
        )

    when = datetime(2026, 11, 27, 9, tzinfo=UTC)
    return DownloadedOrder(
        order_id=101,
        status_id=9,
        date_created=when,
        date_modified=when,
        currency_code="GBP",
        subtotal_inc_tax=Decimal("10"),
        shipping_cost_inc_tax=Decimal("3"),
        total_inc_tax=Decimal("13"),
        billing_address=Address(first_name="Ann"),
        consignments=[
            Consignment(
                order_address_id=8,
                address=Address(first_name="Bo", street_1="2 Low Rd"),
                shipping_method="Flat Rate",
                items=[item(6, 1)],
            ),
            Consignment(
                order_address_id=5,
                address=Address(first_name="Ann", street_1=street),
                shipping_method=method,
                items=[item(4, quantity), item(3, 1)],
            ),
        ],
    )


def test_memory_round_trips_through_the_row_and_is_ordered() -> None:
    memory = remember(_order())
    assert [c.order_address_id for c in memory.consignments] == [5, 8]
    assert [i.order_product_id for i in memory.consignments[0].items] == [3, 4]
    assert memory_from_row(memory.status_id, memory.consignments_column()) == memory
    assert memory_from_row(None, None) is None


def test_the_address_digest_moves_with_the_address_and_the_method_only() -> None:
    base = remember(_order()).consignments[0].address_sha256
    assert remember(_order()).consignments[0].address_sha256 == base
    assert remember(_order(street="3 High St")).consignments[0].address_sha256 != base
    assert remember(_order(method="Express")).consignments[0].address_sha256 != base
    assert remember(_order(quantity=3)).consignments[0].address_sha256 == base


def test_no_address_text_is_kept() -> None:
    assert "High St" not in json.dumps(remember(_order()).consignments_column())
