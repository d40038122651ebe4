"""Settings of the operator commands."""

from common.settings import ServiceSettings


class MigrateSettings(ServiceSettings):
    """`connector migrate` needs only the database."""
