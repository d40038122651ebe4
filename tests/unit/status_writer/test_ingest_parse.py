"""Parsing OrderDespatched messages and the writer's settings (no network)."""

from __future__ import annotations

import json
import uuid

import pytest
from common.consumer import Rejected
from common.crypto import generate_key
from common.events import OrderDespatched
from status_writer.ingest import parse
from status_writer.settings import WriterSettings

GOOD = {
    "event_id": str(uuid.uuid4()),
    "event_type": "OrderDespatched",
    "schema_version": 1,
    "occurred_at": "2026-11-27T10:15:00Z",
    "channel_id": str(uuid.uuid4()),
    "store_hash": "abc123",
    "order_id": 101,
    "despatched_at": "2026-11-27T10:14:00Z",
    "tracking_number": "TT123456785GB",
    "carrier": "Royal Mail",
    "service_name": "Tracked 48",
    "items": [{"order_product_id": 5, "quantity": 1}],
}


def test_contract_example_parses() -> None:
    event = parse(json.dumps(GOOD).encode())
    assert isinstance(event, OrderDespatched)
    assert event.items is not None
    assert event.items[0].order_product_id == 5


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "schema: "),
        (json.dumps({**GOOD, "order_id": "x"}).encode(), "schema: order_id"),
        (json.dumps({**GOOD, "schema_version": 2}).encode(), "schema: schema_version"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "store_hash"}).encode(), "schema: store_hash"),
    ],
)
def test_bad_messages_are_rejected_with_a_reason_that_quotes_no_body(body: bytes, reason: str) -> None:
    outcome = parse(body)
    assert isinstance(outcome, Rejected)
    assert outcome.reason.startswith(reason)
    assert "abc123" not in outcome.reason


def test_settings_defaults_follow_the_contract() -> None:
    settings = WriterSettings(
        bigcommerce_client_id="id", token_encryption_keys=f"{generate_key()},{generate_key()}"
    )
    assert settings.flush_interval_seconds == 1800
    assert settings.http_port == 8082
    assert len(settings.token_encryption_keys) == 2
    # only the gateway has the client secret (CONTRACT §2)
    assert "bigcommerce_client_secret" not in WriterSettings.model_fields
