"""Settings of the `connector` commands that add to the services' common ones."""

from __future__ import annotations

from common.settings import ServiceSettings
from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict


class MigrateSettings(ServiceSettings):
    """Environment of `connector migrate`: DATABASE_URL names the schema's owner here."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    # the services' role, granted row access only (deploy/README.md, "Database roles"); unset: no grants
    database_app_role: str | None = Field(default=None, pattern=r"^[a-z_][a-z0-9_]{0,62}$")

    @field_validator("database_app_role", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value
