"""Event models against the JSON of CONTRACT §3: round trips, money strings, `Z` times."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from common.events import (
    Address,
    ChannelActivated,
    ChannelConnected,
    ChannelDisconnected,
    Consignment,
    DownloadedItem,
    DownloadedOrder,
    OrderDespatched,
    OrderDownloaded,
)
from pydantic import ValidationError

CHANNEL_ID = "7d1f3c1e-3b1c-4f7e-9a55-0c8a3f0e2b11"
CONTRACT_DESPATCH = {
    "event_id": "3f0c2b8e-8a4f-4c9b-b0c2-2d4c6e8f0a1b",
    "event_type": "OrderDespatched",
    "schema_version": 1,
    "occurred_at": "2026-11-27T10:15:00Z",
    "channel_id": CHANNEL_ID,
    "store_hash": "abc123",
    "order_id": 101,
    "despatched_at": "2026-11-27T10:14:00Z",
    "tracking_number": "TT123456785GB",
    "carrier": "Royal Mail",
    "service_name": "Tracked 48",
    "items": [{"order_product_id": 5, "quantity": 1}],
}


def test_order_despatched_round_trips_the_contract_example() -> None:
    event = OrderDespatched.model_validate_json(json.dumps(CONTRACT_DESPATCH))

    assert event.order_id == 101
    assert event.despatched_at == datetime(2026, 11, 27, 10, 14, tzinfo=UTC)
    assert json.loads(event.to_json()) == {**CONTRACT_DESPATCH, "order_address_id": None}


def test_order_despatched_optional_fields_may_be_absent() -> None:
    minimal = {
        k: v
        for k, v in CONTRACT_DESPATCH.items()
        if k not in {"tracking_number", "service_name", "carrier", "items"}
    }
    event = OrderDespatched.model_validate(minimal)
    assert event.carrier == "Royal Mail"
    assert event.tracking_number is None
    assert event.items is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("schema_version", 2),
        ("order_id", "abc"),
        ("despatched_at", "2026-11-27T10:14:00"),  # naive: the contract says UTC with Z
        ("channel_id", "not-a-uuid"),
        ("items", []),
        ("items", [{"order_product_id": 5, "quantity": 0}]),
        ("items", [{"order_product_id": 5, "quantity": 1}, {"order_product_id": 5, "quantity": 2}]),
        ("tracking_number", "X" * 51),
        ("event_type", "OrderDownloaded"),
    ],
)
def test_order_despatched_refuses_malformed_fields(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as refused:
        OrderDespatched.model_validate({**CONTRACT_DESPATCH, field: value})
    assert field in str(refused.value)


@pytest.mark.parametrize("field", ["tracking_number", "carrier", "service_name", "store_hash"])
@pytest.mark.parametrize("character", ["\x00", "\x1b", "\x7f", "\x9f", "\r"])
def test_order_despatched_refuses_control_characters_in_text(field: str, character: str) -> None:
    # the raw text is checked, so a control character at an edge is not stripped away unseen
    for value in (f"AB{character}1", f"{character}AB1", character):
        with pytest.raises(ValidationError) as refused:
            OrderDespatched.model_validate({**CONTRACT_DESPATCH, field: value})
        assert refused.value.errors()[0]["loc"] == (field,)


def test_times_are_serialised_in_utc_with_z() -> None:
    paris = timezone(timedelta(hours=1))
    event = OrderDespatched.model_validate(
        {**CONTRACT_DESPATCH, "despatched_at": datetime(2026, 11, 27, 11, 14, tzinfo=paris)}
    )
    assert json.loads(event.to_json())["despatched_at"] == "2026-11-27T10:14:00Z"


def test_order_downloaded_money_is_decimal_strings_and_weights_are_grams() -> None:
    address = Address(first_name="Zoë", last_name="Ångström", city="Łódź", country_iso2="PL")
    order = DownloadedOrder(
        order_id=250,
        status_id=9,
        date_created=datetime(2026, 11, 26, 9, 0, tzinfo=UTC),
        date_modified=datetime(2026, 11, 26, 9, 5, tzinfo=UTC),
        currency_code="GBP",
        subtotal_inc_tax=Decimal("54.0000"),
        shipping_cost_inc_tax=Decimal("3.5"),
        total_inc_tax=Decimal("57.5000"),
        billing_address=address,
        consignments=[
            Consignment(
                order_address_id=128,
                address=address,
                shipping_method="Flat Rate",
                items=[
                    DownloadedItem(
                        order_product_id=194,
                        product_id=77,
                        variant_id=None,
                        sku="MUG-1",
                        name="Mug",
                        quantity=2,
                        unit_price_inc_tax=Decimal("27.0000"),
                        weight_grams=Decimal("453.59237"),
                    )
                ],
            )
        ],
    )
    event = OrderDownloaded(
        channel_id=uuid.UUID(CHANNEL_ID), store_hash="abc123", trading_name="Your Company", order=order
    )

    body = json.loads(event.to_json())

    assert body["event_type"] == "OrderDownloaded"
    assert body["schema_version"] == 1
    assert body["occurred_at"].endswith("Z")
    assert body["order"]["subtotal_inc_tax"] == "54.00"
    assert body["order"]["shipping_cost_inc_tax"] == "3.50"
    assert body["order"]["date_created"] == "2026-11-26T09:00:00Z"
    item = body["order"]["consignments"][0]["items"][0]
    assert item["unit_price_inc_tax"] == "27.00"
    assert item["weight_grams"] == "453.59"
    assert body["order"]["consignments"][0]["address"]["city"] == "Łódź"
    parsed = OrderDownloaded.model_validate_json(event.to_json())
    assert parsed.order.consignments[0].items[0].weight_grams == Decimal("453.59")
    assert parsed.event_id == event.event_id


def test_order_without_a_physical_consignment_cannot_be_built() -> None:
    with pytest.raises(ValidationError):
        DownloadedOrder(
            order_id=1,
            status_id=9,
            date_created=datetime(2026, 11, 26, tzinfo=UTC),
            date_modified=datetime(2026, 11, 26, tzinfo=UTC),
            currency_code="GBP",
            subtotal_inc_tax=Decimal(0),
            shipping_cost_inc_tax=Decimal(0),
            total_inc_tax=Decimal(0),
            billing_address=Address(),
            consignments=[],
        )


@pytest.mark.parametrize(
    ("model", "routing_key"),
    [
        (ChannelConnected, "bigcommerce.channel.connected"),
        (ChannelActivated, "bigcommerce.channel.activated"),
        (ChannelDisconnected, "bigcommerce.channel.disconnected"),
    ],
)
def test_channel_events_carry_the_contract_fields(model: type[ChannelConnected], routing_key: str) -> None:
    event = model(channel_id=uuid.UUID(CHANNEL_ID), store_hash="abc123", status="active")
    body = json.loads(event.to_json())
    assert set(body) == {
        "event_id",
        "event_type",
        "schema_version",
        "occurred_at",
        "channel_id",
        "store_hash",
        "status",
    }
    assert body["event_type"] == model.__name__
    assert routing_key == model.ROUTING_KEY
    assert model.model_validate_json(event.to_json()) == event
