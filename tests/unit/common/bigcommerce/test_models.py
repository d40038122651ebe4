"""Parsing of BigCommerce payloads, error bodies and request metrics."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from common.bigcommerce import (
    Hook,
    NewShipment,
    NewShipmentItem,
    Order,
    OrderProduct,
    Shipment,
    StoreInfo,
    TokenGrant,
)
from common.bigcommerce.errors import parse_error_body
from common.bigcommerce.metrics import REQUESTS, count_request
from prometheus_client import REGISTRY
from pydantic import ValidationError


def order(**fields: object) -> Order:
    base: dict[str, object] = {
        "id": 1,
        "status_id": 9,
        "date_created": "Tue, 20 Nov 2012 00:00:00 +0000",
        "date_modified": "Tue, 20 Nov 2012 01:30:00 -0000",
    }
    return Order.model_validate({**base, **fields})


def test_order_dates_become_aware_utc() -> None:
    parsed = order(date_shipped="Wed, 21 Nov 2012 12:00:00 +0100")

    assert parsed.date_created == datetime(2012, 11, 20, tzinfo=UTC)
    assert parsed.date_modified == datetime(2012, 11, 20, 1, 30, tzinfo=UTC)  # "-0000" is UTC
    assert parsed.date_shipped == datetime(2012, 11, 21, 11, 0, tzinfo=UTC)
    assert parsed.date_shipped.utcoffset() is not None


def test_unshipped_order_and_unknown_fields() -> None:
    parsed = order(date_shipped="", brand_new_field={"x": 1}, total_inc_tax="12.5000")

    assert parsed.date_shipped is None
    assert parsed.total_inc_tax == Decimal("12.5")
    assert not hasattr(parsed, "brand_new_field")


def test_consignments_as_an_array_are_read_too() -> None:
    parsed = order(consignments=[{"shipping": [{"id": 4, "line_items": []}], "pickups": []}])
    assert parsed.consignments is not None
    assert [c.id for c in parsed.consignments.shipping] == [4]


def test_billing_address_nulls_and_numbers_become_text() -> None:
    parsed = order(billing_address={"first_name": None, "zip": 90210, "phone": 123})
    assert (parsed.billing_address.first_name, parsed.billing_address.zip) == ("", "90210")
    assert parsed.billing_address.phone == "123"


@pytest.mark.parametrize(
    ("raw", "weight"), [("1.5000", Decimal("1.5")), (2, Decimal(2)), (0.25, Decimal("0.25"))]
)
def test_order_product_weight_string_or_number(raw: object, weight: Decimal) -> None:
    line = OrderProduct.model_validate(
        {"id": 5, "order_id": 1, "quantity": 2, "weight": raw, "price_inc_tax": "3.0000"}
    )
    assert line.weight == weight
    assert line.variant_id is None
    assert line.order_pickup_method_id == 0


def test_shipment_without_items_and_hook_without_headers() -> None:
    shipment = Shipment.model_validate({"id": 1, "order_id": 2, "order_address_id": 3})
    hook = Hook.model_validate({"id": 1, "scope": "s", "destination": "d", "headers": None})
    assert shipment.items == []
    assert shipment.tracking_number == ""
    assert hook.headers == {}


def test_store_info_keeps_what_the_connector_needs() -> None:
    info = StoreInfo.model_validate(
        {
            "id": "abc123",
            "name": "Shop",
            "country_code": "GB",
            "weight_units": "Grams",
            "plan_name": "Standard",
            "store_id": 4884484848484,
            "features": {"x": True},
        }
    )
    assert (info.id, info.weight_units, info.plan_name, info.store_id) == (
        "abc123",
        "Grams",
        "Standard",
        4884484848484,
    )


def test_new_shipment_matches_by_address_tracking_and_items() -> None:
    wanted = NewShipment(
        order_address_id=9,
        tracking_number="TT1GB",
        items=[
            NewShipmentItem(order_product_id=5, quantity=1),
            NewShipmentItem(order_product_id=6, quantity=2),
        ],
    )

    def existing(address: int, tracking: str, items: list[tuple[int, int]]) -> Shipment:
        return Shipment.model_validate(
            {
                "id": 1,
                "order_id": 1,
                "order_address_id": address,
                "tracking_number": tracking,
                "items": [{"order_product_id": p, "product_id": 77, "quantity": q} for p, q in items],
            }
        )

    assert wanted.matches(existing(9, "TT1GB", [(6, 2), (5, 1)]))  # order of items is irrelevant
    assert not wanted.matches(existing(8, "TT1GB", [(5, 1), (6, 2)]))
    assert not wanted.matches(existing(9, "TT2GB", [(5, 1), (6, 2)]))
    assert not wanted.matches(existing(9, "TT1GB", [(5, 1)]))


def test_token_grant_rejects_a_context_without_store() -> None:
    with pytest.raises(ValidationError, match="context"):
        TokenGrant.model_validate({"access_token": "t", "scope": "a", "user": {"id": 1}, "context": "g5cd38"})


@pytest.mark.parametrize(
    ("body", "message", "details"),
    [
        (b'[{"status": 404, "message": "Not found."}]', "Not found.", {}),
        (
            b'{"status": 422, "title": "Invalid", "errors": {"scope": "missing"}}',
            "Invalid; scope: missing",
            {"scope": "missing"},
        ),
        (b'{"status": 409, "title": "Conflict", "detail": "Hook exists"}', "Conflict; Hook exists", {}),
        (b"<html>Bad gateway</html>", "<html>Bad gateway</html>", {}),
        (b"", "no error message", {}),
    ],
)
def test_error_bodies_of_both_api_versions(body: bytes, message: str, details: dict[str, str]) -> None:
    assert parse_error_body(body) == (message, details)


def test_request_metrics_have_no_store_label() -> None:
    def value() -> float | None:
        labels = {"plan": "Plus", "method": "GET", "status_class": "4xx"}
        return REGISTRY.get_sample_value("bigcommerce_requests_total", labels)

    before = value() or 0.0
    count_request(plan="Plus", method="GET", status=404)
    assert value() == before + 1
    assert "store_hash" not in REQUESTS._labelnames
