"""Payloads shaped like BigCommerce's documented examples, minimal ones, and ones with nulls or numbers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from common.bigcommerce import ListedOrder, Order, OrderProduct, Shipment, ShippingAddress, StoreInfo

CREATED = "Tue, 20 Nov 2012 00:00:00 +0000"


def test_a_minimal_order_reads_with_defaults() -> None:
    order = Order.model_validate({"id": 7, "status_id": 9, "date_created": CREATED})

    assert order.date_modified is None
    assert order.modified_at == datetime(2012, 11, 20, tzinfo=UTC)  # unchanged since created
    assert (order.is_deleted, order.order_is_digital, order.customer_message) == (False, False, "")
    assert order.total_inc_tax == Decimal(0)
    assert order.billing_address.first_name == ""


@pytest.mark.parametrize("billing", [None, [], {}, {"first_name": "Ann"}])
def test_billing_address_absent_null_empty_or_partial(billing: object) -> None:
    order = Order.model_validate(
        {"id": 7, "status_id": 9, "date_created": CREATED, "billing_address": billing}
    )
    assert order.billing_address.street_2 == ""
    assert order.billing_address.email == ""


def test_order_with_nulls_numbers_and_iso_dates() -> None:
    order = Order.model_validate(
        {
            "id": "7",
            "status_id": "9",
            "date_created": "2026-11-20T10:00:00Z",
            "date_modified": "2026-11-20T11:00:00+01:00",
            "date_shipped": None,
            "order_is_digital": None,
            "is_deleted": None,
            "subtotal_inc_tax": 54,
            "shipping_cost_inc_tax": 3.99,
            "total_inc_tax": None,
            "customer_message": None,
            "items_total": None,
            "shipping_address_count": "1",
            "billing_address": {"company": False, "phone": 2071234567, "street_2": None, "email": None},
        }
    )

    assert (order.id, order.status_id) == (7, 9)
    assert order.date_modified == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert (order.subtotal_inc_tax, order.shipping_cost_inc_tax) == (Decimal(54), Decimal("3.99"))
    assert order.total_inc_tax == Decimal(0)
    assert order.billing_address.phone == "2071234567"
    assert (order.billing_address.company, order.billing_address.street_2) == ("", "")


def test_order_product_with_nulls_and_missing_fields() -> None:
    line = OrderProduct.model_validate(
        {
            "id": 5,
            "order_id": None,
            "product_id": None,
            "variant_id": None,
            "sku": None,
            "type": None,
            "quantity": "2",
            "quantity_shipped": None,
            "price_inc_tax": 12.5,
            "weight": "",
            "order_pickup_method_id": None,
        }
    )

    assert (line.product_id, line.variant_id, line.sku) == (0, None, "")
    assert line.type == "physical"  # a line without a type ships
    assert (line.quantity, line.quantity_shipped, line.order_pickup_method_id) == (2, 0, 0)
    assert (line.price_inc_tax, line.weight) == (Decimal("12.5"), Decimal(0))
    assert line.order_address_id == 0


@pytest.mark.parametrize(
    ("raw", "expected"), [("Physical", "physical"), ("digital", "digital"), ("", "physical")]
)
def test_order_product_type_is_read_case_blind(raw: str, expected: str) -> None:
    line = OrderProduct.model_validate({"id": 5, "quantity": 1, "type": raw})
    assert line.type == expected


def test_shipping_address_documented_minimum() -> None:
    address = ShippingAddress.model_validate(
        {"id": 3, "first_name": "Ann", "zip": 12345, "company": None, "items_total": None}
    )
    assert (address.id, address.order_id, address.zip, address.company) == (3, 0, "12345", "")
    assert address.shipping_method == ""


def test_shipment_with_null_items_and_tracking() -> None:
    shipment = Shipment.model_validate(
        {"id": 1, "order_id": 2, "order_address_id": 3, "items": None, "tracking_number": None}
    )
    assert shipment.items == []
    assert shipment.tracking_number == ""
    bare = Shipment.model_validate({"id": 1, "items": [{"order_product_id": 5, "quantity": "1"}]})
    assert (bare.order_address_id, bare.items[0].quantity) == (0, 1)


def test_store_info_with_a_numeric_id_and_no_units() -> None:
    info = StoreInfo.model_validate({"id": 12345, "name": "Shop", "store_id": "1025646"})
    assert (info.id, info.weight_units, info.store_id) == ("12345", "", 1025646)


@pytest.mark.parametrize(
    ("row", "order_id"),
    [
        ({"id": 9, "status_id": 9, "date_created": "not a date"}, 9),
        ({"id": "12", "status_id": None, "date_created": CREATED}, 12),
        ({"status_id": 9, "date_created": CREATED}, None),
        ("not an object", None),
    ],
)
def test_an_unreadable_list_row_is_a_result_not_an_exception(row: Any, order_id: int | None) -> None:
    listed = ListedOrder.parse(row)
    assert listed.order is None
    assert listed.order_id == order_id
    assert listed.error


def test_a_good_list_row_parses() -> None:
    listed = ListedOrder.parse({"id": 9, "status_id": 9, "date_created": CREATED})
    assert listed.order is not None
    assert (listed.order_id, listed.error) == (9, None)
