"""Exceptions shared across the services."""


class ConnectorError(Exception):
    """Base class of the connector's own errors."""


class PublishError(ConnectorError):
    """An event was not confirmed by the broker (nack, unroutable, timeout or closed channel)."""


class MigrationError(ConnectorError):
    """The schema cannot be brought up to date (a changed or missing migration file)."""
