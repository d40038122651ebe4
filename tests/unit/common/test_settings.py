"""Settings: contract names and defaults, and one clear line for a bad value."""

from __future__ import annotations

import pytest
from common.settings import BigCommerceSettings, ConfigurationError, ServiceSettings, load_settings
from cryptography.fernet import Fernet


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DATABASE_URL",
        "AMQP_URL",
        "AMQP_EXCHANGE",
        "HTTP_PORT",
        "LOG_LEVEL",
        "LOG_FORMAT",
        "BIGCOMMERCE_CLIENT_ID",
        "BIGCOMMERCE_CLIENT_SECRET",
        "BIGCOMMERCE_API_URL",
        "BIGCOMMERCE_LOGIN_URL",
        "TOKEN_ENCRYPTION_KEYS",
        "BIGCOMMERCE_QUOTA_SHARE",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_the_contract_defaults() -> None:
    settings = ServiceSettings()
    assert settings.database_url.get_secret_value() == (
        "postgresql://postgres@127.0.0.1:5432/bigcommerce_connector"
    )
    assert settings.amqp_url.get_secret_value() == "amqp://guest:guest@127.0.0.1:5672/"
    assert settings.amqp_exchange == "clickdrop.events"
    assert settings.log_level == "INFO"
    assert settings.log_format == "json"


def test_environment_names_are_the_contract_names(monkeypatch: pytest.MonkeyPatch) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("BIGCOMMERCE_CLIENT_ID", "client-1")
    monkeypatch.setenv("BIGCOMMERCE_CLIENT_SECRET", "s3cret")
    monkeypatch.setenv("BIGCOMMERCE_API_URL", "http://127.0.0.1:9999")
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEYS", f"{key}, {Fernet.generate_key().decode()}")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("LOG_FORMAT", "console")

    settings = BigCommerceSettings()

    assert settings.bigcommerce_client_id == "client-1"
    assert settings.bigcommerce_api_url == "http://127.0.0.1:9999"
    assert settings.bigcommerce_login_url == "https://login.bigcommerce.com"
    assert settings.bigcommerce_quota_share == 0.7  # the pacer's default share of each store's quota
    assert next(k.get_secret_value() for k in settings.token_encryption_keys) == key
    assert len(settings.token_encryption_keys) == 2
    assert (settings.log_level, settings.log_format) == ("DEBUG", "console")


def test_missing_variable_stops_with_one_line_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigurationError) as stopped:
        load_settings(BigCommerceSettings)

    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "BIGCOMMERCE_CLIENT_ID" in err[0]
    assert "TOKEN_ENCRYPTION_KEYS" in err[0]


def test_malformed_variable_is_named_without_its_value(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HTTP_PORT", "eighty")

    with pytest.raises(ConfigurationError):
        load_settings(ServiceSettings)

    err = capsys.readouterr().err
    assert err.startswith("configuration error: HTTP_PORT")
    assert "eighty" not in err


def test_log_format_outside_the_contract_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigurationError):
        load_settings(ServiceSettings)


def test_secrets_do_not_show_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:hunter2@db/connector")
    assert "hunter2" not in repr(ServiceSettings())


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://root:pw-1@db/x"),
        ("DATABASE_URL", "postgresql://app:pw-1@db:port/x"),
        ("DATABASE_URL", "not a url"),
        ("AMQP_URL", "http://guest:pw-1@rabbit/"),
        ("AMQP_URL", "amqp://guest:pw-1@rabbit:99999/"),
        ("TOKEN_ENCRYPTION_KEYS", "this-is-not-a-fernet-key"),
    ],
)
def test_malformed_secret_settings_stop_with_one_line_that_never_quotes_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str, value: str
) -> None:
    monkeypatch.setenv("BIGCOMMERCE_CLIENT_ID", "client-1")
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError):
        load_settings(BigCommerceSettings)
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"configuration error: {variable}: ")
    assert value not in line
    assert "pw-1" not in line


def test_the_quota_share_is_read_and_one_outside_nothing_to_all_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BIGCOMMERCE_CLIENT_ID", "client-1")
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("BIGCOMMERCE_QUOTA_SHARE", "0.5")
    assert BigCommerceSettings().bigcommerce_quota_share == 0.5

    for share in ("0", "1.2", "most"):
        monkeypatch.setenv("BIGCOMMERCE_QUOTA_SHARE", share)
        with pytest.raises(ConfigurationError):
            load_settings(BigCommerceSettings)
        assert capsys.readouterr().err.startswith("configuration error: BIGCOMMERCE_QUOTA_SHARE")


def test_the_pool_size_is_read_and_one_too_small_to_work_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ServiceSettings().database_pool_size == 10
    monkeypatch.setenv("DATABASE_POOL_SIZE", "40")
    assert ServiceSettings().database_pool_size == 40

    for size in ("1", "0", "many"):
        monkeypatch.setenv("DATABASE_POOL_SIZE", size)
        with pytest.raises(ConfigurationError):
            load_settings(ServiceSettings)
        assert capsys.readouterr().err.startswith("configuration error: DATABASE_POOL_SIZE")
