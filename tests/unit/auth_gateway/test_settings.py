"""The gateway's settings: internal API tokens of any length but never empty, URLs, defaults, secrets."""

from __future__ import annotations

from typing import Any

import pytest
from auth_gateway.settings import GatewaySettings
from common.crypto import generate_key
from common.settings import ConfigurationError, load_settings
from pydantic import ValidationError

REQUIRED: dict[str, Any] = {
    "bigcommerce_client_id": "client",
    "bigcommerce_client_secret": "secret",
    "token_encryption_keys": [generate_key()],
}


def test_short_tokens_are_accepted_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERNAL_API_TOKENS", "abc, second-token ,")
    settings = GatewaySettings(**REQUIRED)
    assert [t.get_secret_value() for t in settings.internal_api_tokens] == ["abc", "second-token"]


@pytest.mark.parametrize("tokens", [[], ["ok", " "], ["has space"], ["ümlaut"], ["a=b"]])
def test_no_tokens_or_an_empty_token_is_refused(tokens: list[str]) -> None:
    with pytest.raises(ValidationError) as caught:
        GatewaySettings(**REQUIRED, internal_api_tokens=tokens)
    assert caught.value.errors()[0]["loc"][0] == "internal_api_tokens"


def test_contract_defaults_and_derived_urls() -> None:
    settings = GatewaySettings(
        **REQUIRED, internal_api_tokens=["t"], public_base_url="https://gw.example.com/"
    )
    assert settings.http_port == 8080
    assert settings.auth_callback_url == "https://gw.example.com/bigcommerce/auth"
    assert settings.webhook_destination == "https://gw.example.com/bigcommerce/webhooks"
    assert settings.clickdrop_app_url == "http://127.0.0.1:8080"
    assert settings.http_host == "0.0.0.0"  # noqa: S104 - the contract default (a container)
    # never switched on by the URLs being equal, as they are by default
    defaults = GatewaySettings(**REQUIRED, internal_api_tokens=["t"])
    assert defaults.public_base_url == defaults.clickdrop_app_url
    assert not defaults.settings_pages_enabled


def test_launch_links_carry_the_token_as_a_query_parameter() -> None:
    settings = GatewaySettings(**REQUIRED, internal_api_tokens=["t"], clickdrop_app_url="https://cd.example/")
    assert (
        settings.channel_settings_url("c-1", "tok+/=")
        == "https://cd.example/channels/c-1/settings?launch=tok%2B%2F%3D"
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TOKEN_ENCRYPTION_KEYS", "this-is-not-a-fernet-key"),
        ("INTERNAL_API_TOKENS", "tok with spaces"),
        ("BIGCOMMERCE_CLIENT_SECRET", " "),
        ("DATABASE_URL", "mysql://root:pw@db/x"),
        ("AMQP_URL", "redis://cache"),
    ],
)
def test_a_malformed_secret_setting_stops_the_gateway_with_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str, value: str
) -> None:
    environment = {
        "BIGCOMMERCE_CLIENT_ID": "client",
        "BIGCOMMERCE_CLIENT_SECRET": "a-client-secret",
        "TOKEN_ENCRYPTION_KEYS": generate_key(),
        "INTERNAL_API_TOKENS": "token-1",
        variable: value,
    }
    for name, setting in environment.items():
        monkeypatch.setenv(name, setting)
    with pytest.raises(ConfigurationError):
        load_settings(GatewaySettings)
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"configuration error: {variable}: ")
    if value.strip():
        assert value not in line
