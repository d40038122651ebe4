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


def test_the_flush_starts_at_flush_concurrency_and_grows_to_its_maximum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("FLUSH_CONCURRENCY", "FLUSH_CONCURRENCY_MAX", "FLUSH_INTERVAL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    sizing = WriterSettings(**REQUIRED).flush_concurrency_policy()
    assert (sizing.initial, sizing.ceiling, sizing.target_s) == (8, 256, 0.8 * 1800)

    monkeypatch.setenv("FLUSH_CONCURRENCY", "4")
    monkeypatch.setenv("FLUSH_CONCURRENCY_MAX", "64")
    monkeypatch.setenv("FLUSH_INTERVAL_SECONDS", "600")
    sizing = WriterSettings(**REQUIRED).flush_concurrency_policy()
    assert (sizing.initial, sizing.ceiling, sizing.target_s) == (4, 64, 480)

    with pytest.raises(ValidationError, match=r"must be at least FLUSH_CONCURRENCY \(16\)"):
        WriterSettings(**REQUIRED, flush_concurrency=16, flush_concurrency_max=8)
