"""The AsyncAPI document: generated from the event models, valid AsyncAPI 3.0, and committed up to date."""

from __future__ import annotations

import copy
import gzip
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from common import events
from common.asyncapi import build_asyncapi, render_asyncapi
from pydantic import ValidationError

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "docs" / "asyncapi.json"
# The official JSON Schema of AsyncAPI 3.0.0 (npm @asyncapi/specs 6.11.1, schemas/3.0.0-without-$id.json,
# Apache-2.0), kept here so the check runs offline.
ASYNCAPI_SCHEMA = ROOT / "tests" / "fixtures" / "asyncapi-3.0.0.schema.json.gz"
# CONTRACT §3: event, routing key, and whether the connector publishes or consumes it.
CONTRACT_EVENTS = {
    "OrderDownloaded": ("bigcommerce.order.downloaded", "send"),
    "OrderChanged": ("bigcommerce.order.changed", "send"),
    "OrderDespatched": ("order.despatched.bigcommerce", "receive"),
    "ChannelConnected": ("bigcommerce.channel.connected", "send"),
    "ChannelActivated": ("bigcommerce.channel.activated", "send"),
    "ChannelDisconnected": ("bigcommerce.channel.disconnected", "send"),
}


def asyncapi_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads(gzip.decompress(ASYNCAPI_SCHEMA.read_bytes()))
    validator = jsonschema.Draft7Validator(schema)
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(document)]


def test_committed_document_is_up_to_date() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render_asyncapi(), (
        "docs/asyncapi.json is stale: run `uv run connector asyncapi --output docs/asyncapi.json`"
    )


def test_document_is_valid_asyncapi_3() -> None:
    document = build_asyncapi()
    assert document["asyncapi"] == "3.0.0"
    assert asyncapi_errors(document) == []


def test_an_invalid_document_is_caught() -> None:
    document = copy.deepcopy(build_asyncapi())
    document["operations"]["publishOrderDownloaded"]["action"] = "publish"  # AsyncAPI 2 wording
    assert asyncapi_errors(document)


def test_every_contract_event_has_its_channel_and_operation() -> None:
    document = build_asyncapi()
    described = {}
    for operation in document["operations"].values():
        channel = document["channels"][operation["channel"]["$ref"].rsplit("/", 1)[-1]]
        (message,) = channel["messages"]
        described[message] = (channel["address"], operation["action"])
    assert described == CONTRACT_EVENTS
    published = {
        cls.__name__
        for cls in vars(events).values()
        if isinstance(cls, type) and issubclass(cls, events.Event) and "ROUTING_KEY" in vars(cls)
    }
    assert published == set(CONTRACT_EVENTS), "an event model is missing from the document"


def payload_validator(document: dict[str, Any], name: str) -> jsonschema.Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def an_order() -> events.DownloadedOrder:
    address = events.Address(first_name="Ada", last_name="Lovelace", country_iso2="GB")
    return events.DownloadedOrder(
        order_id=101,
        status_id=9,
        date_created=datetime(2026, 11, 27, 9, 0, tzinfo=UTC),
        date_modified=datetime(2026, 11, 27, 9, 5, tzinfo=UTC),
        currency_code="GBP",
        subtotal_inc_tax=Decimal("12.5"),
        shipping_cost_inc_tax=Decimal("3"),
        total_inc_tax=Decimal("15.5"),
        billing_address=address,
        consignments=[
            events.Consignment(
                order_address_id=7,
                address=address,
                items=[
                    events.DownloadedItem(
                        order_product_id=5,
                        product_id=77,
                        name="Tea",
                        quantity=1,
                        unit_price_inc_tax=Decimal("12.50"),
                        weight_grams=Decimal("250"),
                    )
                ],
            )
        ],
    )


def test_published_events_match_their_documented_payloads() -> None:
    document = build_asyncapi()
    channel = {"channel_id": uuid.uuid4(), "store_hash": "abc123"}
    samples: list[events.Event] = [
        events.OrderDownloaded(**channel, trading_name="Tea Shop", order=an_order()),
        events.OrderChanged(
            **channel,
            trading_name="Tea Shop",
            downloaded_event_id=uuid.uuid4(),
            changes=["cancelled", "items"],
            order=an_order(),
        ),
        events.ChannelActivated(**channel, status="active"),
    ]
    for event in samples:
        body = json.loads(event.to_json())
        validator = payload_validator(document, type(event).__name__)
        assert list(validator.iter_errors(body)) == []
        body["order" if "order" in body else "status"] = {"nonsense": True}
        assert list(validator.iter_errors(body)), "the schema must refuse a wrong shape"


def test_money_and_times_are_documented_as_contract_strings() -> None:
    schemas = build_asyncapi()["components"]["schemas"]
    price = schemas["DownloadedItem"]["properties"]["unit_price_inc_tax"]
    assert price["type"] == "string"
    assert price["pattern"] == r"^-?\d+\.\d{2}$"
    assert schemas["OrderDownloaded"]["properties"]["occurred_at"]["format"] == "date-time"


def test_order_changed_follows_the_contract() -> None:
    common = {
        "channel_id": uuid.uuid4(),
        "store_hash": "abc123",
        "trading_name": "Tea Shop",
        "downloaded_event_id": uuid.uuid4(),
        "order": an_order(),
    }
    event = events.OrderChanged(**common, changes=["address"])
    assert event.ROUTING_KEY == "bigcommerce.order.changed"
    body = json.loads(event.to_json())
    assert body["event_type"] == "OrderChanged"
    assert body["schema_version"] == 1
    assert body["order"]["consignments"][0]["items"][0]["unit_price_inc_tax"] == "12.50"
    for changes in ([], ["shipped"]):
        with pytest.raises(ValidationError):
            events.OrderChanged(**common, changes=changes)
