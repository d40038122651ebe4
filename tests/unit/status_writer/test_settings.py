"""The writer's lease and order budget: the budget must end well inside the lease that fences it."""

from __future__ import annotations

import pytest
from common.crypto import generate_key
from pydantic import ValidationError
from status_writer.settings import WriterSettings

REQUIRED = {
    "bigcommerce_client_id": "id",
    "token_encryption_keys": generate_key(),
}


def test_lease_and_budget_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FLUSH_LEASE_SECONDS", "ORDER_TIME_BUDGET_SECONDS", "DATA_RETENTION_DAYS"):
        monkeypatch.delenv(name, raising=False)
    settings = WriterSettings(**REQUIRED)
    assert (settings.flush_lease_seconds, settings.order_time_budget_seconds) == (300, 90)
    assert settings.data_retention_days == 30


def test_a_budget_over_half_the_lease_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"must be at most half of FLUSH_LEASE_SECONDS \(60\)"):
        WriterSettings(**REQUIRED, flush_lease_seconds=60, order_time_budget_seconds=31)
    assert (
        WriterSettings(
            **REQUIRED, flush_lease_seconds=60, order_time_budget_seconds=30
        ).order_time_budget_seconds
        == 30
    )
