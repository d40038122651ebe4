"""From a BigCommerce order, its lines and addresses to the OrderDownloaded event."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from common.bigcommerce.models import Order, OrderProduct, ShippingAddress
from order_poller.mapping import (
    OrderSkippedError,
    build_event,
    event_id_for,
)

CHANNEL_ID = uuid.UUID("0b0e7c9e-49a5-4b0e-8d5f-3b1c2a9e7d10")
NOW = datetime(2026, 11, 27, 10, 15, tzinfo=UTC)


def order(**overrides: Any) -> Order:
    body = {
        "id": 101,
        "status_id": 9,
        "date_created": "Tue, 24 Nov 2026 09:30:00 +0000",
        "date_modified": "Wed, 25 Nov 2026 11:00:05 +0000",
        "order_is_digital": False,
        "currency_code": "GBP",
        "subtotal_inc_tax": "54.0000",
        "shipping_cost_inc_tax": "3.9900",
        "total_inc_tax": "57.9900",
        "customer_message": "Leave with a neighbour",
        "billing_address": {
            "first_name": "Zoë",
            "last_name": "Ångström",
            "street_1": "1 Test Street",
            "city": "London",
            "zip": "EC1A 1BB",
            "country": "United Kingdom",
            "country_iso2": "GB",
            "email": "zoe@example.com",
            "phone": None,
            "form_fields": [],
        },
    }
    body.update(overrides)
    return Order.model_validate(body)


def line(line_id: int, **overrides: Any) -> OrderProduct:
    body = {
        "id": line_id,
        "order_id": 101,
        "product_id": 1000 + line_id,
        "variant_id": 2000 + line_id,
        "order_address_id": 7,
        "order_pickup_method_id": 0,
        "name": f"Product {line_id}",
        "sku": f"SKU-{line_id}",
        "type": "physical",
        "quantity": 2,
        "quantity_shipped": 0,
        "quantity_refunded": 0,
        "price_inc_tax": "12.5000",
        "weight": "1.5000",
    }
    body.update(overrides)
    return OrderProduct.model_validate(body)


def address(address_id: int, **overrides: Any) -> ShippingAddress:
    body = {
        "id": address_id,
        "order_id": 101,
        "first_name": "Siân",
        "last_name": "Llewelyn",
        "company": "Café Zoë",
        "street_1": "1 Castle Street",
        "street_2": "",
        "city": "Cardiff",
        "state": "",
        "zip": "CF10 1BS",
        "country": "United Kingdom",
        "country_iso2": "GB",
        "phone": "+44 29 2000 0000",
        "email": "sian@example.com",
        "shipping_method": "Royal Mail Tracked 48",
    }
    body.update(overrides)
    return ShippingAddress.model_validate(body)


def event_json(
    *,
    the_order: Order | None = None,
    lines: list[OrderProduct],
    addresses: list[ShippingAddress],
    units: str = "Kilograms",
) -> dict[str, Any]:
    event = build_event(
        channel_id=CHANNEL_ID,
        store_hash="abc123",
        trading_name="Zoë's Shop",
        weight_units=units,
        order=the_order or order(),
        lines=lines,
        addresses=addresses,
        occurred_at=NOW,
    )
    return json.loads(event.to_json())


def test_event_matches_the_contract_field_by_field() -> None:
    body = event_json(lines=[line(1)], addresses=[address(7)])
    assert body == {
        "event_id": str(event_id_for("abc123", 101)),
        "event_type": "OrderDownloaded",
        "schema_version": 1,
        "occurred_at": "2026-11-27T10:15:00Z",
        "channel_id": str(CHANNEL_ID),
        "store_hash": "abc123",
        "trading_name": "Zoë's Shop",
        "order": {
            "order_id": 101,
            "status_id": 9,
            "date_created": "2026-11-24T09:30:00Z",
            "date_modified": "2026-11-25T11:00:05Z",
            "currency_code": "GBP",
            "subtotal_inc_tax": "54.00",
            "shipping_cost_inc_tax": "3.99",
            "total_inc_tax": "57.99",
            "customer_message": "Leave with a neighbour",
            "billing_address": {
                "first_name": "Zoë",
                "last_name": "Ångström",
                "company": "",
                "street_1": "1 Test Street",
                "street_2": "",
                "city": "London",
                "state": "",
                "zip": "EC1A 1BB",
                "country": "United Kingdom",
                "country_iso2": "GB",
                "phone": "",
                "email": "zoe@example.com",
            },
            "consignments": [
                {
                    "order_address_id": 7,
                    "address": {
                        "first_name": "Siân",
                        "last_name": "Llewelyn",
                        "company": "Café Zoë",
                        "street_1": "1 Castle Street",
                        "street_2": "",
                        "city": "Cardiff",
                        "state": "",
                        "zip": "CF10 1BS",
                        "country": "United Kingdom",
                        "country_iso2": "GB",
                        "phone": "+44 29 2000 0000",
                        "email": "sian@example.com",
                    },
                    "shipping_method": "Royal Mail Tracked 48",
                    "items": [
                        {
                            "order_product_id": 1,
                            "product_id": 1001,
                            "variant_id": 2001,
                            "sku": "SKU-1",
                            "name": "Product 1",
                            "quantity": 2,
                            "unit_price_inc_tax": "12.50",
                            "weight_grams": "1500.00",
                        }
                    ],
                }
            ],
        },
    }


def test_lines_are_grouped_by_shipping_address_in_a_multi_address_order() -> None:
    body = event_json(
        lines=[line(3, order_address_id=8), line(1), line(2, order_address_id=8)],
        addresses=[address(8, city="Belfast", shipping_method="Flat Rate"), address(7)],
    )
    consignments = body["order"]["consignments"]
    assert [c["order_address_id"] for c in consignments] == [7, 8]
    assert [i["order_product_id"] for i in consignments[0]["items"]] == [1]
    assert [i["order_product_id"] for i in consignments[1]["items"]] == [2, 3]
    assert consignments[1]["address"]["city"] == "Belfast"
    assert consignments[1]["shipping_method"] == "Flat Rate"


def test_digital_gift_certificate_and_pickup_lines_are_dropped_from_a_mixed_order() -> None:
    body = event_json(
        lines=[
            line(1),
            line(2, type="digital", order_address_id=0, weight="0"),
            line(3, type="giftcertificate", order_address_id=0),
            line(4, order_pickup_method_id=3),
        ],
        addresses=[address(7)],
    )
    items = [i for c in body["order"]["consignments"] for i in c["items"]]
    assert [i["order_product_id"] for i in items] == [1]


@pytest.mark.parametrize(
    "lines",
    [
        [line(2, type="digital", order_address_id=0)],
        [line(3, type="giftcertificate", order_address_id=0)],
        [line(4, order_pickup_method_id=1)],
        [line(5, quantity_shipped=2)],
    ],
)
def test_an_order_without_a_physical_item_to_ship_is_skipped_for_good(lines: list[OrderProduct]) -> None:
    with pytest.raises(OrderSkippedError) as skipped:
        event_json(lines=lines, addresses=[address(7)])
    assert skipped.value.reason == "no_physical_items"
    assert skipped.value.final


def test_entirely_digital_and_archived_orders_are_skipped_before_their_lines() -> None:
    with pytest.raises(OrderSkippedError) as digital:
        event_json(the_order=order(order_is_digital=True), lines=[], addresses=[])
    assert digital.value.reason == "digital_order"
    with pytest.raises(OrderSkippedError) as archived:
        event_json(the_order=order(is_deleted=True), lines=[line(1)], addresses=[address(7)])
    assert archived.value.reason == "archived"


@pytest.mark.parametrize(
    ("units", "weight", "grams"),
    [
        ("Grams", "250", "250.00"),
        ("Kilograms", "0.35", "350.00"),
        ("Ounces", "16", "453.59"),
        ("Pounds", "2.5", "1133.98"),
    ],
)
def test_weights_are_per_unit_in_grams(units: str, weight: str, grams: str) -> None:
    body = event_json(lines=[line(1, weight=weight, quantity=3)], addresses=[address(7)], units=units)
    item = body["order"]["consignments"][0]["items"][0]
    assert item["weight_grams"] == grams
    assert item["quantity"] == 3


def test_unknown_weight_unit_skips_the_order_with_a_retryable_reason() -> None:
    with pytest.raises(OrderSkippedError) as skipped:
        event_json(lines=[line(1)], addresses=[address(7)], units="Stones")
    assert skipped.value.reason == "unknown_weight_unit"
    assert not skipped.value.final
    assert "Stones" in skipped.value.detail


def test_shipped_and_refunded_units_are_left_out_of_the_event() -> None:
    body = event_json(lines=[line(1, quantity=4, quantity_shipped=1)], addresses=[address(7)])
    assert body["order"]["consignments"][0]["items"][0]["quantity"] == 3


def test_only_lines_that_ship_are_in_the_event_in_their_order() -> None:
    body = event_json(
        lines=[line(4), line(2, type="digital"), line(3, order_pickup_method_id=2), line(1)],
        addresses=[address(7)],
    )
    assert [i["order_product_id"] for i in body["order"]["consignments"][0]["items"]] == [1, 4]


@pytest.mark.parametrize(
    ("lines", "addresses", "detail"),
    [
        ([line(1, order_address_id=99)], [address(7)], "unknown address 99"),
        ([line(1, weight="-1")], [address(7)], "negative weight"),
        ([line(1, price_inc_tax="-0.01")], [address(7)], "negative price"),
    ],
)
def test_malformed_orders_are_skipped_with_the_reason(
    lines: list[OrderProduct], addresses: list[ShippingAddress], detail: str
) -> None:
    with pytest.raises(OrderSkippedError) as skipped:
        event_json(lines=lines, addresses=addresses)
    assert skipped.value.reason == "malformed"
    assert detail in skipped.value.detail
    assert not skipped.value.final


def test_money_is_rounded_to_pence_and_missing_variant_is_null() -> None:
    body = event_json(
        the_order=order(total_inc_tax="57.9950", subtotal_inc_tax="54.0049"),
        lines=[line(1, price_inc_tax="9.9950", variant_id="")],
        addresses=[address(7)],
    )
    assert body["order"]["total_inc_tax"] == "58.00"
    assert body["order"]["subtotal_inc_tax"] == "54.00"
    item = body["order"]["consignments"][0]["items"][0]
    assert item["unit_price_inc_tax"] == "10.00"
    assert item["variant_id"] is None


def test_event_id_is_stable_per_store_and_order() -> None:
    assert event_id_for("abc123", 101) == event_id_for("abc123", 101)
    assert event_id_for("abc123", 101) != event_id_for("abc123", 102)
    assert event_id_for("abc123", 101) != event_id_for("xyz789", 101)


def test_a_line_without_order_address_id_ships_to_the_only_address() -> None:
    bare = OrderProduct.model_validate(
        {
            "id": 9,
            "order_id": 101,
            "product_id": 5,
            "name": "Mug",
            "quantity": 1,
            "price_inc_tax": 4,
            "weight": 2,
        }
    )
    body = event_json(lines=[bare], addresses=[address(7)], units="LBS")
    [consignment] = body["order"]["consignments"]
    assert consignment["order_address_id"] == 7
    [item] = consignment["items"]
    assert item["variant_id"] is None
    assert item["sku"] == ""
    assert item["unit_price_inc_tax"] == "4.00"
    assert item["weight_grams"] == "907.18"


def test_a_line_without_order_address_id_of_a_multi_address_order_is_malformed() -> None:
    bare = line(1, order_address_id=None)
    with pytest.raises(OrderSkippedError) as skipped:
        event_json(lines=[bare], addresses=[address(7), address(8)])
    assert skipped.value.reason == "malformed"


@pytest.mark.parametrize("units", ["", None])
def test_a_store_without_a_weight_unit_still_downloads_with_weights_unknown(units: str | None) -> None:
    event = build_event(
        channel_id=CHANNEL_ID,
        store_hash="abc123",
        trading_name="Zoë's Shop",
        weight_units=units,
        order=order(),
        lines=[line(1, weight=3)],
        addresses=[address(7)],
        occurred_at=NOW,
    )
    body = json.loads(event.to_json())
    assert body["order"]["consignments"][0]["items"][0]["weight_grams"] == "0.00"


def test_minimal_order_payload_still_makes_a_contract_event() -> None:
    minimal = Order.model_validate(
        {
            "id": 101,
            "status_id": 9,
            "date_created": "Tue, 24 Nov 2026 09:30:00 +0000",
            "billing_address": None,
        }
    )
    body = event_json(the_order=minimal, lines=[line(1)], addresses=[address(7, company=None, phone=None)])
    assert body["order"]["date_modified"] == body["order"]["date_created"] == "2026-11-24T09:30:00Z"
    assert body["order"]["customer_message"] == ""
    assert body["order"]["total_inc_tax"] == "0.00"
    assert set(body["order"]["billing_address"]) == {
        "first_name", "last_name", "company", "street_1", "street_2", "city",
        "state", "zip", "country", "country_iso2", "phone", "email",
    }  # fmt: skip
    address_body = body["order"]["consignments"][0]["address"]
    assert (address_body["company"], address_body["phone"]) == ("", "")
