"""Handlers of the internal API; they parse and answer, `operations` does the work."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, get_args

from aiohttp import web
from common.asyncapi import render_asyncapi
from common.db.channels import ChannelStatus
from common.db.despatches import list_despatches, retry_despatch
from pydantic import BaseModel, ValidationError

from auth_gateway import operations
from auth_gateway.api.openapi import build_openapi
from auth_gateway.api.problems import (
    CHANNEL_STATE,
    MALFORMED_BODY,
    NOT_FOUND,
    VALIDATION,
    field_error,
    fields_problem,
    problem,
    validation_problem,
)
from auth_gateway.context import GATEWAY_KEY
from auth_gateway.launch import redeem
from auth_gateway.models import ChannelSettings, DespatchListFilter

CHANNEL_STATUSES: tuple[str, ...] = get_args(ChannelStatus)
# built once from the event models: the same text as the committed docs/asyncapi.json
_ASYNCAPI = render_asyncapi()
MAX_ORDER_ID = 2**63 - 1
routes = web.RouteTableDef()


class _Refused(Exception):
    """A request the handler refuses with a ready problem response."""

    def __init__(self, response: web.Response) -> None:
        self.response = response


def _json(data: BaseModel | dict[str, Any] | list[Any], status: int = 200) -> web.Response:
    body = data.model_dump_json() if isinstance(data, BaseModel) else json.dumps(data, default=str)
    return web.Response(text=body, status=status, content_type="application/json")


def _channel_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["channel_id"])
    except ValueError:
        raise _Refused(problem(404, "Not Found", "no channel has this id", type_=NOT_FOUND)) from None


async def _settings_body(request: web.Request, *, optional: bool) -> ChannelSettings | None:
    raw = await request.read()
    if not raw.strip():
        if optional:
            return None
        raise _Refused(problem(400, "Bad Request", "a JSON object body is required", type_=MALFORMED_BODY))
    # The body is read as JSON whatever its Content-Type says (application/json,
    # application/merge-patch+json, or none): callers are authenticated, so this is no CSRF door.
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _Refused(
            problem(400, "Bad Request", "the body is not valid JSON", type_=MALFORMED_BODY)
        ) from None
    if not isinstance(data, dict):
        raise _Refused(
            problem(
                422,
                "Invalid request",
                "the body must be a JSON object",
                type_=VALIDATION,
                errors=[field_error("", "must be an object")],
            )
        )
    try:
        settings = ChannelSettings.model_validate(data)
    except ValidationError as error:
        raise _Refused(validation_problem(error)) from None
    if settings.is_empty() and not optional:
        raise _Refused(
            problem(
                422,
                "Invalid request",
                "name at least one field to change",
                type_=VALIDATION,
                errors=[field_error("", "no field given")],
            )
        )
    return settings


async def _call(action: Callable[[], Awaitable[web.Response]]) -> web.Response:
    """Run a handler body, mapping refusals and channel errors to problems."""
    try:
        result: web.Response = await action()
        return result
    except _Refused as refused:
        return refused.response
    except operations.ChannelNotFoundError:
        return problem(404, "Not Found", "no channel has this id", type_=NOT_FOUND)
    except operations.ChannelStateError as error:
        return fields_problem(409, "Channel state conflict", error.message, error.fields, type_=CHANNEL_STATE)
    except operations.RequiredFieldError as error:
        detail = (
            f"{', '.join(error.fields)} may not be empty while the channel is active; nothing was changed"
        )
        return fields_problem(422, "Invalid request", detail, error.fields, type_=VALIDATION)


@routes.post("/api/v1/launches/{token}")
async def redeem_launch(request: web.Request) -> web.Response:
    """Click & Drop redeems a launch token once: which channel and which BigCommerce user opened it."""
    launch = await redeem(request.app[GATEWAY_KEY].pool, request.match_info["token"])
    if launch is None:
        return problem(
            404, "Not Found", "no such launch token: used before, expired or unknown", type_=NOT_FOUND
        )
    return _json(launch)


@routes.get("/api/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(build_openapi())


@routes.get("/api/v1/asyncapi.json")
async def asyncapi(request: web.Request) -> web.Response:
    return web.Response(text=_ASYNCAPI, content_type="application/json")


@routes.get("/api/v1/channels")
async def list_channels(request: web.Request) -> web.Response:
    status = request.query.get("status")
    if status is not None and status not in CHANNEL_STATUSES:
        return problem(
            422,
            "Invalid request",
            f"status must be one of {', '.join(CHANNEL_STATUSES)}",
            type_=VALIDATION,
            errors=[field_error("status", "unknown status")],
        )
    views = await operations.list_views(request.app[GATEWAY_KEY], status)  # type: ignore[arg-type]
    # a bare array: the contract names no envelope for the list
    return _json([v.model_dump(mode="json") for v in views])


@routes.get("/api/v1/channels/{channel_id}")
async def get_channel(request: web.Request) -> web.Response:
    async def act() -> web.Response:
        return _json(await operations.get_view(request.app[GATEWAY_KEY], _channel_id(request)))

    return await _call(act)


@routes.patch("/api/v1/channels/{channel_id}")
async def patch_channel(request: web.Request) -> web.Response:
    async def act() -> web.Response:
        channel_id = _channel_id(request)
        settings = await _settings_body(request, optional=False)
        assert settings is not None
        return _json(await operations.update_settings(request.app[GATEWAY_KEY], channel_id, settings))

    return await _call(act)


@routes.delete("/api/v1/channels/{channel_id}")
async def delete_channel(request: web.Request) -> web.Response:
    async def act() -> web.Response:
        await operations.delete(request.app[GATEWAY_KEY], _channel_id(request))
        return web.Response(status=204)

    return await _call(act)


@routes.post("/api/v1/channels/{channel_id}/activate")
async def activate_channel(request: web.Request) -> web.Response:
    async def act() -> web.Response:
        channel_id = _channel_id(request)
        settings = await _settings_body(request, optional=True)
        return _json(await operations.activate(request.app[GATEWAY_KEY], channel_id, settings))

    return await _call(act)


@routes.post("/api/v1/channels/{channel_id}/disconnect")
async def disconnect_channel(request: web.Request) -> web.Response:
    async def act() -> web.Response:
        return _json(await operations.disconnect(request.app[GATEWAY_KEY], _channel_id(request)))

    return await _call(act)


@routes.post("/api/v1/channels/{channel_id}/sync")
async def sync_channel(request: web.Request) -> web.Response:
    async def act() -> web.Response:
        return _json(await operations.sync(request.app[GATEWAY_KEY], _channel_id(request)), status=202)

    return await _call(act)


@routes.get("/api/v1/channels/{channel_id}/despatches")
async def channel_despatches(request: web.Request) -> web.Response:
    async def act() -> web.Response:
        gateway = request.app[GATEWAY_KEY]
        channel_id = _channel_id(request)
        try:
            state = DespatchListFilter.model_validate(dict(request.query)).state
        except ValidationError as error:
            raise _Refused(validation_problem(error, where="query")) from None
        await operations.get_view(gateway, channel_id)  # 404 for an unknown channel
        rows = await list_despatches(gateway.pool, channel_id, state)
        return _json([r.model_dump(mode="json") for r in rows])

    return await _call(act)


@routes.post("/api/v1/channels/{channel_id}/despatches/{order_id}/retry")
async def retry(request: web.Request) -> web.Response:
    async def act() -> web.Response:
        gateway = request.app[GATEWAY_KEY]
        channel_id = _channel_id(request)
        raw_order = request.match_info["order_id"]
        if not raw_order.isascii() or not raw_order.isdigit() or not 0 < int(raw_order) <= MAX_ORDER_ID:
            raise _Refused(problem(404, "Not Found", "no order has this id", type_=NOT_FOUND))
        order_id = int(raw_order)
        await operations.get_view(gateway, channel_id)
        queued = await retry_despatch(gateway.pool, channel_id, order_id)
        if not queued:
            return problem(
                404, "Not Found", f"order {order_id} has no failed despatch on this channel", type_=NOT_FOUND
            )
        return _json({"order_id": order_id, "queued": queued}, status=202)

    return await _call(act)
