"""Configuration shared by every service, read once from the environment (CONTRACT §2)."""

from __future__ import annotations

import sys
from typing import Annotated, Literal, TypeVar
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from common.backoff import Backoff
from common.bigcommerce.pacing import DEFAULT_QUOTA_SHARE
from common.redaction import register_settings_secrets

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/bigcommerce_connector"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def split_csv(value: object) -> object:
    """Split a comma-separated environment value into a list (for NoDecode list fields)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class ServiceSettings(BaseSettings):
    """What every process needs: database, broker, logging, its HTTP port."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    database_url: SecretStr = SecretStr(DEFAULT_DATABASE_URL)
    amqp_url: SecretStr = SecretStr(DEFAULT_AMQP_URL)
    amqp_exchange: str = Field(default="clickdrop.events", min_length=1)
    http_port: int = Field(default=8080, ge=0, le=65535)
    # every address in a container; `make run`'s demo binds 127.0.0.1
    http_host: str = Field(default="0.0.0.0", min_length=1, pattern=r"^[^\s/]+$")  # noqa: S104
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    shutdown_grace_s: float = Field(default=20.0, gt=0)
    # Waiting out a database or broker outage: the first retry after this long, doubling (with full
    # jitter) up to the maximum, for as long as the outage lasts.
    server_retry_initial_seconds: float = Field(default=0.5, gt=0)
    server_retry_max_seconds: float = Field(default=30.0, gt=0)
    # published outbox rows and finished despatches hold customers' names and addresses (CONTRACT §2)
    data_retention_days: int = Field(default=30, ge=1, le=3650)
    # connections one process keeps at most (the poller's LISTEN connection aside): replicas times
    # this, summed over the services, must stay under PostgreSQL's max_connections or a pooler's limit
    database_pool_size: int = Field(default=10, ge=2, le=1000)

    def server_backoff(self) -> Backoff:
        """A fresh backoff for one wait on a failing server."""
        return Backoff(base_s=self.server_retry_initial_seconds, max_s=self.server_retry_max_seconds)

    # Checked here so a typo stops the service with one line, not a driver's traceback (which
    # might quote the URL, password and all).
    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr) -> SecretStr:
        return _checked_url(value, ("postgresql", "postgres"), "a postgresql:// URL")

    @field_validator("amqp_url")
    @classmethod
    def _amqp_url(cls, value: SecretStr) -> SecretStr:
        return _checked_url(value, ("amqp", "amqps"), "an amqp:// or amqps:// URL")

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _normalise_case(cls, value: object) -> object:
        if isinstance(value, str):
            return value.upper() if value.lower() in _LEVELS else value.lower()
        return value


_LEVELS = {"debug", "info", "warning", "error", "critical"}


def _checked_url(value: SecretStr, schemes: tuple[str, ...], what: str) -> SecretStr:
    """The URL if it has one of `schemes` and a readable port; the error never quotes it."""
    try:
        parts = urlsplit(value.get_secret_value())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        raise ValueError(f"must be {what} with a numeric port") from None
    if parts.scheme not in schemes or not parts.netloc:
        raise ValueError(f"must be {what}")
    return value


class EncryptionSettings(ServiceSettings):
    """Settings of a process that reads or writes the stored secrets (TOKEN_ENCRYPTION_KEYS)."""

    token_encryption_keys: Annotated[list[SecretStr], NoDecode] = Field(min_length=1)

    @field_validator("token_encryption_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        return split_csv(value)

    @field_validator("token_encryption_keys")
    @classmethod
    def _fernet_keys(cls, value: list[SecretStr]) -> list[SecretStr]:
        return validate_fernet_keys(value)


class BigCommerceSettings(EncryptionSettings):
    """Settings of a service that talks to BigCommerce with stored grants.

    No client secret: it signs the JWTs that authorise uninstall, so only the gateway, which
    verifies them, has it (`GatewaySettings`).
    """

    bigcommerce_client_id: str = Field(min_length=1)
    bigcommerce_api_url: str = Field(default="https://api.bigcommerce.com", pattern=r"^https?://")
    bigcommerce_login_url: str = Field(default="https://login.bigcommerce.com", pattern=r"^https?://")
    # at most this share of each store's rate-limit window is ours; the rest is left to the
    # merchant's other apps, which share the quota (reference §7)
    bigcommerce_quota_share: float = Field(default=DEFAULT_QUOTA_SHARE, gt=0, le=1)


def validate_fernet_keys(keys: list[SecretStr]) -> list[SecretStr]:
    """Each key a Fernet key; the error names its position, never its value."""
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.get_secret_value().encode())
        except ValueError:  # binascii.Error is one too
            raise ValueError(
                f"key {position} is not a Fernet key (32 url-safe base64-encoded bytes)"
            ) from None
    return keys


def within_half_the_lease(budget_s: float, lease_s: float | None, lease_variable: str) -> float:
    """A per-order time budget must end well inside the lease that fences the order's writes."""
    if lease_s is not None and budget_s > lease_s / 2:
        raise ValueError(f"must be at most half of {lease_variable} ({lease_s:g})")
    return budget_s


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


class ConfigurationError(SystemExit):
    """A setting is missing or malformed; carries the one line printed at exit."""


def describe_validation_error(error: ValidationError) -> str:
    """One line naming each environment variable at fault, never its value."""
    problems = []
    for item in error.errors():
        variable = str(item["loc"][0]).upper() if item["loc"] else "?"
        problems.append(f"{variable}: {item['msg']}")
    return "configuration error: " + "; ".join(problems)


def load_settings(settings_cls: type[SettingsT], **overrides: object) -> SettingsT:
    """Build settings, or stop the process with one clear line naming the variable."""
    try:
        settings = settings_cls(**overrides)  # type: ignore[arg-type]  # overrides are field values
    except ValidationError as error:
        line = describe_validation_error(error)
        print(line, file=sys.stderr)
        raise ConfigurationError(2) from None
    register_settings_secrets(settings)  # masked in every log line and stored error from now on
    return settings
