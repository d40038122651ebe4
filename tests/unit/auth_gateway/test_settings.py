"""The gateway's settings: internal API tokens of any length but never empty, URLs, defaults."""

from __future__ import annotations

from typing import Any

import pytest
from auth_gateway.settings import GatewaySettings
from common.crypto import generate_key
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


@pytest.mark.parametrize("tokens", [[], ["ok", " "]])
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
    assert not settings.serves_settings_pages
