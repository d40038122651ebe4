"""Exceptions shared across the services, and the one-line account of a validation failure."""

from typing import Literal

from pydantic import ValidationError


class ConnectorError(Exception):
    """Base class of the connector's own errors."""


PublishFailure = Literal["unroutable", "refused", "no_confirm", "connection"]


class PublishError(ConnectorError):
    """An event was not confirmed by the broker; `reason` says whether the event or the broker is at fault.

    `unroutable` (no queue bound for its routing key) and `refused` (a nack) are about the event:
    other events may well go through. `no_confirm` (timeout) and `connection` (channel or
    connection closed) are about the broker: nothing goes through until it is back.
    """

    def __init__(self, message: str, *, reason: PublishFailure = "connection") -> None:
        super().__init__(message)
        self.reason: PublishFailure = reason

    @property
    def broker_down(self) -> bool:
        return self.reason in ("no_confirm", "connection")


class MigrationError(ConnectorError):
    """The schema cannot be brought up to date (a changed or missing migration file)."""


def first_problem(error: ValidationError) -> str:
    """Where an order's first problem is and what it is (`order: ...` when the whole value is at fault)."""
    first = error.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "order"
    return f"{where}: {first['msg']}"
