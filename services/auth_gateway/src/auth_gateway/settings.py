"""The auth gateway's configuration (CONTRACT §2): BigCommerce app, public URLs, internal API tokens."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlencode

from common.settings import BigCommerceSettings, split_csv
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

# The scopes the connector cannot work without (reference §3): orders to read and write back,
# store information for name, country and weight units (either variant of it).
REQUIRED_SCOPES: tuple[frozenset[str], ...] = (
    frozenset({"store_v2_orders"}),
    frozenset({"store_v2_information_read_only", "store_v2_information"}),
)


# RFC 6750 b64token: what may follow "Bearer " in an Authorization header.
BEARER_TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")


class GatewaySettings(BigCommerceSettings):
    """Settings of the auth gateway."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    # signs the JWTs of load, uninstall and remove-user: only the gateway has it
    bigcommerce_client_secret: SecretStr
    http_port: int = Field(default=8080, ge=0, le=65535)
    public_base_url: str = Field(default="http://127.0.0.1:8080", pattern=r"^https?://[^\s]+$")
    clickdrop_app_url: str = Field(default="http://127.0.0.1:8080", pattern=r"^https?://[^\s]+$")
    internal_api_tokens: Annotated[list[SecretStr], NoDecode] = Field(min_length=1)
    # how often every active channel's webhook is checked and re-registered (daily by default)
    webhook_check_interval_seconds: float = Field(default=86_400.0, gt=0)
    # how long a delivery's hash is remembered; BigCommerce retries for about 48 hours
    webhook_dedupe_ttl_seconds: float = Field(default=3 * 86_400.0, gt=0)
    # clock skew allowed on the exp/nbf claims of signed_payload_jwt; BigCommerce already sets
    # nbf a few seconds before iat (reference §2.1), so a small margin is enough
    jwt_leeway_seconds: int = Field(default=5, ge=0, le=300)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # The demo's stand-in for Click & Drop's settings pages; on only when asked for (`make run`),
    # never inferred from the URLs, since a page that can disconnect a store must not appear by accident.
    settings_pages_enabled: bool = False
    # Where the settings pages' "Go to your BigCommerce control panel" links lead. login.bigcommerce.com
    # opens the signed-in merchant's control panel (its per-store address is not known before /v2/store
    # is read); the demo points it at the sandbox's marketplace.
    bigcommerce_control_panel_url: str = Field(
        default="https://login.bigcommerce.com", pattern=r"^https?://[^\s]+$"
    )
    # how long a settings page session started by a launch lasts (absolute, not sliding)
    settings_session_seconds: int = Field(default=3600, ge=60, le=86_400)

    @field_validator("internal_api_tokens", mode="before")
    @classmethod
    def _split_tokens(cls, value: object) -> object:
        return split_csv(value)

    @field_validator("internal_api_tokens")
    @classmethod
    def _bearer_tokens(cls, value: list[SecretStr]) -> list[SecretStr]:
        # a token a client cannot send as "Bearer <token>" would lock every caller out; an empty
        # one would let "Authorization: Bearer " in. No length rule (CONTRACT §2).
        for position, token in enumerate(value, start=1):
            if not BEARER_TOKEN.match(token.get_secret_value()):
                raise ValueError(
                    f"token {position} is not a bearer token (letters, digits and -._~+/ then any =)"
                )
        return value

    @field_validator("bigcommerce_client_secret")
    @classmethod
    def _secret_not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("public_base_url", "clickdrop_app_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def auth_callback_url(self) -> str:
        """The redirect_uri: identical to the auth callback URL registered with BigCommerce."""
        return f"{self.public_base_url}/bigcommerce/auth"

    @property
    def webhook_destination(self) -> str:
        return f"{self.public_base_url}/bigcommerce/webhooks"

    def channel_settings_url(self, channel_id: object, launch_token: str) -> str:
        """Where Launch and the "App installed" link send the merchant, with a launch token."""
        return (
            f"{self.clickdrop_app_url}/channels/{channel_id}/settings?{urlencode({'launch': launch_token})}"
        )
