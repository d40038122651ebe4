"""The OpenAPI 3.1 document of the internal API, built from the same models the handlers use."""

from __future__ import annotations

import functools
from typing import Any

from common.db.despatches import DespatchView
from pydantic.json_schema import models_json_schema

from auth_gateway.db.launches import Launch
from auth_gateway.models import ChannelSettings, ChannelView

_REF = "#/components/schemas/{model}"
_ID = {"name": "channel_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
_ORDER = {"name": "order_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
_PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "pointer": {"type": "string"},
                    "detail": {"type": "string"},
                },
            },
        },
    },
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF.format(model=name)}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _problems(*statuses: int) -> dict[str, Any]:
    content = {"application/problem+json": {"schema": _ref("Problem")}}
    base = {
        401: "missing or wrong bearer token",
        404: "no such channel or launch token",
        413: "body too large",
    }
    more = {
        400: "malformed JSON",
        409: (
            "the channel's state forbids it (activate: a required name is empty, `errors` names it; "
            "or the app was uninstalled: install it again; or BigCommerce refused the token: reopen the app)"
        ),
        422: "a field is invalid; `errors` names it",
    }
    labels = {**base, **more}
    return {str(s): {"description": labels[s], "content": content} for s in sorted({401, 404, *statuses})}


def _op(
    summary: str,
    ok: tuple[int, dict[str, Any]],
    *,
    params: list[dict[str, Any]] | None = None,
    body: bool | str = False,
    errors: tuple[int, ...] = (),
) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "responses": {str(ok[0]): ok[1], **_problems(*errors)}}
    if params:
        operation["parameters"] = params
    if body:
        operation["requestBody"] = {
            "required": body != "optional",
            "content": {"application/json": {"schema": _ref("ChannelSettings")}},
        }
    return operation


@functools.cache
def build_openapi() -> dict[str, Any]:
    """The document served at /api/v1/openapi.json."""
    _, defs = models_json_schema(
        [
            (ChannelView, "serialization"),
            (ChannelSettings, "validation"),
            (DespatchView, "serialization"),
            (Launch, "serialization"),
        ],
        ref_template=_REF,
    )
    schemas = {**defs["$defs"], "Problem": _PROBLEM}
    channel = _json(_ref("ChannelView"), "the channel")
    status_param = {
        "name": "status",
        "in": "query",
        "required": False,
        "schema": {
            "type": "string",
            "enum": ["pending", "active", "reauthorization_required", "disconnected"],
        },
    }
    state_param = {
        "name": "state",
        "in": "query",
        "required": False,
        "schema": {
            "type": "string",
            "default": "failed",
            "enum": ["pending", "posting", "written", "failed", "not_written"],
        },
    }
    listing = {"type": "array", "items": _ref("ChannelView")}
    despatches = {"type": "array", "items": _ref("DespatchView")}
    queued = {
        "type": "object",
        "properties": {"order_id": {"type": "integer"}, "queued": {"type": "integer"}},
    }
    ch = "/api/v1/channels/{channel_id}"
    launch_token = {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}
    paths: dict[str, Any] = {
        "/api/v1/launches/{token}": {
            "post": _op(
                "Redeem a launch token (single use, valid 5 minutes): the channel and user that opened the app",
                (200, _json(_ref("Launch"), "who opened which channel")),
                params=[launch_token],
            )
        },
        "/api/v1/openapi.json": {
            "get": {
                "summary": "This document",
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1"}},
            }
        },
        "/api/v1/asyncapi.json": {
            "get": {
                "summary": "The AsyncAPI 3.0 document of the events the connector publishes and consumes",
                "security": [],
                "responses": {"200": {"description": "AsyncAPI 3.0"}},
            }
        },
        "/api/v1/channels": {
            "get": _op(
                "List channels", (200, _json(listing, "channels")), params=[status_param], errors=(422,)
            )
        },
        ch: {
            "get": _op("Get a channel", (200, channel), params=[_ID]),
            "patch": _op(
                "Change settings (all or nothing)",
                (200, channel),
                params=[_ID],
                body=True,
                errors=(400, 413, 422),
            ),
            "delete": _op(
                "Disconnect if connected, then remove the channel",
                (204, {"description": "removed"}),
                params=[_ID],
            ),
        },
        f"{ch}/activate": {
            "post": _op(
                "Update (optional body) and activate; reconnects a channel disconnected by 'Disconnect Store'",
                (200, channel),
                params=[_ID],
                body="optional",
                errors=(400, 409, 413, 422),
            )
        },
        f"{ch}/disconnect": {
            "post": _op(
                "Disconnect the store ('Disconnect Store'): deletes the app's hooks, keeps the grant "
                "encrypted so that activate reconnects it",
                (200, channel),
                params=[_ID],
            )
        },
        f"{ch}/sync": {"post": _op("Download orders now", (202, channel), params=[_ID], errors=(409,))},
        f"{ch}/despatches": {
            "get": _op(
                "Despatches by write-back state",
                (200, _json(despatches, "despatches")),
                params=[_ID, state_param],
                errors=(422,),
            )
        },
        f"{ch}/despatches/{{order_id}}/retry": {
            "post": _op(
                "Queue an order's failed despatches again",
                (202, _json(queued, "queued")),
                params=[_ID, _ORDER],
            )
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Click & Drop BigCommerce channel: internal API", "version": "1.0.0"},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": paths,
    }
