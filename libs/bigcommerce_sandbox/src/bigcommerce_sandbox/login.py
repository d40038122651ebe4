"""The login service: `POST /oauth2/token` exchanges an install's one-time code for a token."""

from __future__ import annotations

import json
import logging

from aiohttp import web

from bigcommerce_sandbox.middlewares import SANDBOX_KEY
from bigcommerce_sandbox.oauth import OAuthError, exchange_code

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


async def _fields(request: web.Request) -> dict[str, str]:
    """The request's fields: the docs send JSON, the official Python client a form."""
    if request.content_type == "application/json":
        try:
            body = json.loads(await request.text())
        except ValueError:
            raise OAuthError(400, "invalid_request", "The body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise OAuthError(400, "invalid_request", "The body must be a JSON object.")
        return {str(k): str(v) for k, v in body.items() if v is not None}
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    raise OAuthError(400, "invalid_request", "Send the fields as JSON or as a form.")


@routes.post("/oauth2/token")
async def token(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    try:
        body = exchange_code(sandbox, await _fields(request))
    except OAuthError as error:
        log.info("token_exchange_refused error=%s", error.error)
        return web.json_response(
            {"error": error.error, "error_description": error.description}, status=error.status
        )
    log.info("token_exchanged context=%s", body["context"])
    return web.json_response(body)
