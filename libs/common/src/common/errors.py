"""Exceptions shared across the services, and the one-line account of a validation failure."""

from pydantic import ValidationError


class ConnectorError(Exception):
    """Base class of the connector's own errors."""


class PublishError(ConnectorError):
    """An event was not confirmed by the broker (nack, unroutable, timeout or closed channel)."""


class MigrationError(ConnectorError):
    """The schema cannot be brought up to date (a changed or missing migration file)."""


def first_problem(error: ValidationError) -> str:
    """Where an order's first problem is and what it is (`order: ...` when the whole value is at fault)."""
    first = error.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "order"
    return f"{where}: {first['msg']}"
