"""Errors as `application/problem+json` (RFC 9457), with `errors` naming each field at fault."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from pydantic import ValidationError

PROBLEM_CONTENT_TYPE = "application/problem+json"
_TYPE_PREFIX = "urn:clickdrop:bigcommerce:problem:"

VALIDATION = _TYPE_PREFIX + "validation-error"
CHANNEL_STATE = _TYPE_PREFIX + "channel-state-conflict"
NOT_FOUND = _TYPE_PREFIX + "not-found"
UNAUTHORIZED = _TYPE_PREFIX + "unauthorized"
MALFORMED_BODY = _TYPE_PREFIX + "malformed-body"
GENERIC = "about:blank"  # the title is then the HTTP status phrase (RFC 9457 §4.2.1)


def field_error(field: str, detail: str) -> dict[str, str]:
    pointer = "#/" + field.replace(".", "/") if field else "#"
    return {"field": field, "pointer": pointer, "detail": detail}


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    type_: str = GENERIC,
    errors: Sequence[dict[str, str]] = (),
    headers: dict[str, str] | None = None,
) -> web.Response:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = list(errors)
    return web.Response(
        status=status,
        text=json.dumps(body),
        content_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


def validation_problem(error: ValidationError, *, where: str = "body") -> web.Response:
    """422 naming every field at fault; nothing was changed."""
    errors = []
    for item in error.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in item["loc"])
        detail = "unknown field" if item["type"] == "extra_forbidden" else item["msg"]
        errors.append(field_error(field, detail))
    fields = ", ".join(e["field"] or where for e in errors)
    return problem(
        422,
        "Invalid request",
        f"invalid {where} field(s): {fields}; nothing was changed",
        type_=VALIDATION,
        errors=errors,
    )


def fields_problem(
    status: int, title: str, detail: str, fields: dict[str, str], *, type_: str
) -> web.Response:
    return problem(status, title, detail, type_=type_, errors=[field_error(f, d) for f, d in fields.items()])
