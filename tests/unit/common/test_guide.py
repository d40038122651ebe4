"""The guide's numbers are the settings' defaults, and they are the numbers the guide says."""

from __future__ import annotations

import pytest
from common import guide
from common.bigcommerce import statuses
from common.crypto import generate_key
from order_poller.settings import PollerSettings
from status_writer.settings import WriterSettings

REQUIRED = {"bigcommerce_client_id": "id", "token_encryption_keys": generate_key()}


def test_the_guides_numbers() -> None:
    # "no more than 7 days old", "every 10-15 minutes", "every 30 minutes"
    assert guide.ORDER_MAX_AGE_DAYS == 7
    assert (guide.POLL_INTERVAL_MIN_SECONDS, guide.POLL_INTERVAL_MAX_SECONDS) == (10 * 60, 15 * 60)
    assert guide.FLUSH_INTERVAL_SECONDS == 30 * 60
    # "'Awaiting Shipment' status", "marked as 'Complete'" (BigCommerce's ids, reference §4.3)
    assert (guide.DOWNLOADED_STATUS_ID, guide.DESPATCHED_STATUS_ID) == (9, 10)
    assert (statuses.AWAITING_SHIPMENT, statuses.COMPLETED) == (9, 10)


def test_the_settings_default_to_the_guide(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "POLL_INTERVAL_MIN_SECONDS",
        "POLL_INTERVAL_MAX_SECONDS",
        "ORDER_MAX_AGE_DAYS",
        "FLUSH_INTERVAL_SECONDS",
    ):
        monkeypatch.delenv(name, raising=False)
    poller = PollerSettings(**REQUIRED)
    assert poller.order_max_age_days == guide.ORDER_MAX_AGE_DAYS
    assert (poller.poll_interval_min_seconds, poller.poll_interval_max_seconds) == (
        guide.POLL_INTERVAL_MIN_SECONDS,
        guide.POLL_INTERVAL_MAX_SECONDS,
    )
    assert WriterSettings(**REQUIRED).flush_interval_seconds == guide.FLUSH_INTERVAL_SECONDS
