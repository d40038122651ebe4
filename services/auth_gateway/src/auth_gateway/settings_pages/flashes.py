"""Post/redirect/get: a form's outcome is left in the session and shown once by the page it redirects to."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from auth_gateway.db.sessions import set_flash, take_flash
from auth_gateway.pages.flash import FIELD_LABELS, Flash, TypedValues
from auth_gateway.pages.layout import redirect
from auth_gateway.settings_pages.guard import PageRequest

# Typed text is kept to show it again, within reason: the form's fields hold 100 characters.
_TYPED_MAX_LENGTH = 1000


async def redirect_with(checked: PageRequest, flash: Flash, location: str | None = None) -> web.Response:
    """Leave `flash` for the session's next page and send the browser there with a GET."""
    await set_flash(checked.gateway.pool, checked.session.session_sha256, flash.model_dump(mode="json"))
    return redirect(location or checked.settings_url)


async def flash_for(checked: PageRequest) -> Flash:
    """The flash left by the last form, cleared as it is read (an empty one when there is none)."""
    raw = await take_flash(checked.gateway.pool, checked.session.session_sha256)
    if raw is None:
        return Flash()
    try:
        return Flash.model_validate(raw)
    except ValidationError:  # left by another release: shown as nothing rather than failing the page
        return Flash()


def typed_text(value: str) -> str:
    """Text as typed, storable: PostgreSQL's jsonb cannot hold NUL, so it shows as the replacement character."""
    return value[:_TYPED_MAX_LENGTH].replace("\x00", "\ufffd")


def typed_values(trading_name: str, store_name: str, mark: bool) -> TypedValues:
    return TypedValues(
        trading_name=typed_text(trading_name),
        store_name=typed_text(store_name),
        mark_orders_as_despatched=mark,
    )


def field_sentence(field: str, detail: str) -> str:
    """ "is required to activate the channel" about store_name -> "Store name is required to ..." """
    return f"{FIELD_LABELS.get(field, field)} {detail}"


def validation_sentences(error: ValidationError) -> dict[str, str]:
    """pydantic's errors of the settings form, one sentence per field, naming it."""
    sentences: dict[str, str] = {}
    for item in error.errors(include_url=False, include_input=False):
        field = str(item["loc"][0]) if item["loc"] else ""
        if item["type"] == "string_too_long":
            detail = f"must be {item.get('ctx', {}).get('max_length', 100)} characters or fewer"
        else:
            detail = str(item["msg"]).removeprefix("Value error, ")
            detail = detail[:1].lower() + detail[1:]
        sentences.setdefault(field, field_sentence(field, detail))
    return sentences
