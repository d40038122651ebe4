"""Middlewares of the internal API: bearer tokens, body size, and every error as a problem document."""

from __future__ import annotations

import hmac
import re
from collections.abc import Sequence
from http import HTTPStatus

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import SecretStr

from auth_gateway.api.problems import GENERIC, NOT_FOUND, UNAUTHORIZED, problem

log = structlog.get_logger(__name__)

API_PREFIX = "/api/v1/"
PUBLIC_PATHS = frozenset({"/api/v1/openapi.json", "/api/v1/asyncapi.json"})
# Strict on purpose: exactly "Bearer", one space, an RFC 6750 b64token, nothing else. RFC 9110
# lets a scheme be matched case-insensitively, but the only callers are Click & Drop's own
# services, and one accepted spelling leaves nothing for a proxy or a parser to disagree on.
# (Trailing whitespace never reaches us: HTTP excludes it from a field value.)
_BEARER = re.compile(r"Bearer ([A-Za-z0-9\-._~+/]+=*)")


def bearer_token(header: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None when it is not exactly that."""
    match = _BEARER.fullmatch(header)
    return match[1] if match else None


def token_matches(presented: str, tokens: Sequence[SecretStr]) -> bool:
    """Constant-time comparison against every configured token (no early exit)."""
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(presented.encode(), token.get_secret_value().encode())
    return matched


def make_api_middleware(tokens: Sequence[SecretStr], max_body_bytes: int) -> web.middleware:  # type: ignore[valid-type]
    """Authenticate, bound the body and turn errors into problems, for /api/v1/ paths only."""

    @web.middleware
    async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not (request.path.startswith(API_PREFIX) or request.path == API_PREFIX.rstrip("/")):
            return await handler(request)
        if request.path not in PUBLIC_PATHS:
            presented = bearer_token(request.headers.get("Authorization", ""))
            if presented is None or not token_matches(presented, tokens):
                return problem(
                    401,
                    "Unauthorized",
                    "a valid bearer token is required",
                    type_=UNAUTHORIZED,
                    headers={"WWW-Authenticate": 'Bearer realm="clickdrop-bigcommerce"'},
                )
        if request.content_length is not None and request.content_length > max_body_bytes:
            return _http_problem(413, f"request bodies are limited to {max_body_bytes} bytes")
        try:
            return await handler(request)
        except web.HTTPException as error:
            if error.status < 400:
                raise
            detail = error.text if error.status == 413 else error.reason
            if error.status == 404:
                return problem(404, "Not Found", "no such resource", type_=NOT_FOUND)
            headers = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else None
            return _http_problem(error.status, detail or error.reason, headers)
        except Exception:
            # the route's template, not the path: a launch token travels in the path
            route = request.match_info.route.resource
            log.exception(
                "api_request_failed", route=route.canonical if route else "?", method=request.method
            )
            return _http_problem(500, "the request failed; it may be retried")

    return api_middleware


def _http_problem(status: int, detail: str, headers: dict[str, str] | None = None) -> web.Response:
    return problem(status, HTTPStatus(status).phrase, detail, type_=GENERIC, headers=headers)
