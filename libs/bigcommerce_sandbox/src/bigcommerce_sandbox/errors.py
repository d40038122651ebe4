"""API errors and their two wire shapes: a v2 JSON array and a v3 problem object (reference §9.1)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

V3_ERROR_TYPE = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"

V3_TITLES = {
    400: "Bad Request",
    401: "Unauthorized - the v3 Auth client ID or token in the request are not a valid "
    "combination for this store.",
    403: "Missing scope",
    404: "The requested resource was not found.",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    422: "JSON data is missing or invalid",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}

V2_MESSAGES = {
    401: "The request is missing a valid X-Auth-Token.",
    # Wording seen on real v2 403s (a public report quoting BigCommerce's response).
    403: "You don't have a required scope to access the endpoint",
    404: "The requested resource was not found.",
    405: "The requested method is not allowed on this resource.",
    406: "The requested content type is not available; send Accept: application/json.",
    415: "The request Content-Type must be application/json.",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class SandboxError(Exception):
    """Base class of the sandbox's own errors (misuse of the control API)."""


class ApiError(Exception):
    """An error response; rendered as v2 or v3 depending on the request path."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message or str(status))
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}


def read_only_field(name: str) -> ApiError:
    """The v2 400 for a field the request may not write."""
    return ApiError(
        400,
        f"The field '{name}' cannot be written to. Please remove it from your request before trying again.",
    )


def is_v3(path: str) -> bool:
    """True for `/stores/{hash}/v3/...` paths."""
    parts = path.split("/")
    return len(parts) > 3 and parts[3] == "v3"


def render(error: ApiError, path: str) -> web.Response:
    """The JSON response for `error` in the shape of the API version of `path`."""
    body: Any
    if is_v3(path):
        body = {
            "status": error.status,
            "title": error.message or V3_TITLES.get(error.status, "Error"),
            "type": V3_ERROR_TYPE,
        }
        if error.errors is not None:
            body["errors"] = error.errors
    else:
        message = error.message or V2_MESSAGES.get(error.status, "Error")
        body = [{"status": error.status, "message": message}]
    return web.json_response(body, status=error.status, headers=error.headers)
