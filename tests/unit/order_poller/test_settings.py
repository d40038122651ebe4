"""The poller's settings: contract defaults, validation of the interval, no client secret."""

from __future__ import annotations

import pytest
from common.crypto import generate_key
from common.settings import ConfigurationError, load_settings
from order_poller.settings import PollerSettings
from pydantic import ValidationError

REQUIRED = {
    "bigcommerce_client_id": "id",
    "token_encryption_keys": generate_key(),
}


def test_defaults_follow_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PORT", "POLL_INTERVAL_MIN_SECONDS", "POLL_INTERVAL_MAX_SECONDS", "ORDER_MAX_AGE_DAYS"):
        monkeypatch.delenv(name, raising=False)
    settings = PollerSettings(**REQUIRED)
    assert settings.http_port == 8081
    assert settings.poll_interval_min_seconds == 600
    assert settings.poll_interval_max_seconds == 900
    assert settings.order_max_age_days == 7


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLL_INTERVAL_MIN_SECONDS", "60")
    monkeypatch.setenv("POLL_INTERVAL_MAX_SECONDS", "120")
    monkeypatch.setenv("ORDER_MAX_AGE_DAYS", "3")
    monkeypatch.setenv("POLL_CONCURRENCY", "32")
    monkeypatch.setenv("POLL_CONCURRENCY_MAX", "64")
    settings = PollerSettings(**REQUIRED)
    assert (settings.poll_interval_min_seconds, settings.poll_interval_max_seconds) == (60, 120)
    assert settings.order_max_age_days == 3
    assert (settings.poll_concurrency, settings.poll_concurrency_max) == (32, 64)


def test_concurrency_ceiling_below_its_start_is_refused() -> None:
    assert PollerSettings(**REQUIRED).poll_concurrency_max == 256
    with pytest.raises(ValidationError, match=r"must be at least POLL_CONCURRENCY \(16\)"):
        PollerSettings(**REQUIRED, poll_concurrency=16, poll_concurrency_max=8)


def test_min_interval_above_max_is_refused() -> None:
    with pytest.raises(ValidationError, match="must not be below POLL_INTERVAL_MIN_SECONDS"):
        PollerSettings(**REQUIRED, poll_interval_min_seconds=900, poll_interval_max_seconds=600)


def test_interval_error_names_the_maximum(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigurationError):
        load_settings(PollerSettings, **REQUIRED, poll_interval_min_seconds=901)
    err = capsys.readouterr().err.strip()
    assert err.startswith("configuration error: POLL_INTERVAL_MAX_SECONDS")
    assert "POLL_INTERVAL_MIN_SECONDS (901)" in err


def test_bad_setting_stops_with_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ORDER_MAX_AGE_DAYS", "soon")
    with pytest.raises(ConfigurationError):
        load_settings(PollerSettings, **REQUIRED)
    err = capsys.readouterr().err.strip()
    assert "ORDER_MAX_AGE_DAYS" in err
    assert len(err.splitlines()) == 1


def test_the_client_secret_is_neither_required_nor_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # it signs the JWTs that authorise uninstall: only the gateway has it (CONTRACT §2)
    monkeypatch.delenv("BIGCOMMERCE_CLIENT_SECRET", raising=False)
    assert PollerSettings(**REQUIRED).http_port == 8081
    monkeypatch.setenv("BIGCOMMERCE_CLIENT_SECRET", "given-by-mistake-0123456789")
    settings = PollerSettings(**REQUIRED)
    assert "bigcommerce_client_secret" not in PollerSettings.model_fields
    assert "given-by-mistake" not in repr(settings.model_dump())


def test_a_malformed_encryption_key_stops_with_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEYS", "this-is-not-a-fernet-key")
    with pytest.raises(ConfigurationError):
        load_settings(PollerSettings, bigcommerce_client_id="id")
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("configuration error: TOKEN_ENCRYPTION_KEYS: ")
    assert "this-is-not-a-fernet-key" not in line


def test_the_order_budget_must_end_well_inside_the_lease(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert PollerSettings(**REQUIRED).order_time_budget_seconds == 30
    monkeypatch.setenv("POLL_LEASE_SECONDS", "20")
    monkeypatch.setenv("ORDER_TIME_BUDGET_SECONDS", "11")
    with pytest.raises(ConfigurationError):
        load_settings(PollerSettings, **REQUIRED)
    assert "ORDER_TIME_BUDGET_SECONDS: Value error, must be at most half of POLL_LEASE_SECONDS (20)" in (
        capsys.readouterr().err
    )
