"""Errors raised by the BigCommerce client, classified by what the caller should do next."""

from __future__ import annotations

import json
from collections.abc import Mapping


class BigCommerceError(Exception):
    """Base of every BigCommerce client error; carries where the request went and its status."""

    def __init__(
        self,
        message: str,
        *,
        store_hash: str,
        method: str,
        path: str,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.store_hash = store_hash
        self.method = method
        self.path = path
        self.status = status

    def __str__(self) -> str:
        status = "no response" if self.status is None else str(self.status)
        return f"{self.method} {self.path} on store {self.store_hash}: {status}: {self.message}"


class ReauthorizationRequired(BigCommerceError):
    """401: the stored token no longer works (uninstalled, scopes or owner e-mail changed)."""


class MissingScope(BigCommerceError):
    """403: the token lacks a scope; the merchant must reopen the app to re-approve."""


class NotFound(BigCommerceError):
    """404: the order, shipment, hook or store does not exist."""


class InvalidRequest(BigCommerceError):
    """400/409/413/415/422: BigCommerce refused the request; retrying it unchanged cannot help."""

    def __init__(
        self,
        message: str,
        *,
        store_hash: str,
        method: str,
        path: str,
        status: int | None = None,
        details: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, store_hash=store_hash, method=method, path=path, status=status)
        self.details: dict[str, str] = dict(details or {})


class Unavailable(BigCommerceError):
    """Retries exhausted on 429, 5xx, timeouts or connection errors; `cause` is the last failure."""

    def __init__(
        self,
        message: str,
        *,
        store_hash: str,
        method: str,
        path: str,
        status: int | None = None,
        attempts: int = 0,
        cause: BaseException | None = None,
    ) -> None:
        super().__init__(message, store_hash=store_hash, method=method, path=path, status=status)
        self.attempts = attempts
        self.cause = cause


class TimeBudgetExceeded(BigCommerceError):
    """A unit of work (one order) took longer than its time budget, retries and waits included."""


class ResponseTooLarge(BigCommerceError):
    """A response body was larger than the client accepts (`ReadLimits.max_response_bytes`); not retried."""


class TooManyPages(BigCommerceError):
    """A listing went on for more pages than the client reads (`ReadLimits.max_pages`); not retried."""


class OAuthExchangeError(BigCommerceError):
    """The login service refused to exchange an authorization code for a token."""


def parse_error_body(body: bytes) -> tuple[str, dict[str, str]]:
    """BigCommerce's message and field errors from a v2 array or v3 object error body."""
    # NUL removed: the message may be stored as a despatch's reason (PostgreSQL cannot hold it)
    text = body.decode("utf-8", errors="replace").replace("\x00", "").strip()
    try:
        data: object = json.loads(text)
    except ValueError:
        # Proxies and load balancers answer with HTML or plain text: keep a short excerpt.
        return (_shorten(text) or "no error message"), {}
    if isinstance(data, list):
        # v2: [{"status": 404, "message": "The requested resource was not found."}, ...]
        messages = [str(item["message"]) for item in data if isinstance(item, dict) and item.get("message")]
        return ("; ".join(messages) or _shorten(text)), {}
    if isinstance(data, dict):
        # v3: {"status": 422, "title": "...", "detail": "...", "errors": {"field": "reason"}};
        # OAuth errors are unverified (reference §1.2): accept RFC 6749's error/error_description.
        keys = ("title", "detail", "message", "error", "error_description")
        parts = [str(data[key]) for key in keys if isinstance(data.get(key), str | int) and data[key]]
        errors = data.get("errors")
        details = {str(k): str(v) for k, v in errors.items()} if isinstance(errors, dict) else {}
        if isinstance(errors, list):
            parts.extend(str(e) for e in errors)
        if details:
            parts.append(", ".join(f"{k}: {v}" for k, v in details.items()))
        return ("; ".join(parts) or _shorten(text)), details
    return _shorten(text), {}


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
