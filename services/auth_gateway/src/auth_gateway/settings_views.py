"""The channel settings page (sandbox/demo mode): the guide's form, calling the same operations as the API."""

from __future__ import annotations

import hmac
import uuid

from aiohttp import web
from pydantic import ValidationError

from auth_gateway import operations
from auth_gateway.context import GATEWAY_KEY, Gateway
from auth_gateway.models import ChannelSettings
from auth_gateway.pages import error_page, settings_page

_NOT_FOUND = ("Channel not found", "This channel does not exist or was deleted.")


def _channel_id(request: web.Request) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.match_info["channel_id"])
    except ValueError:
        return None


async def show(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY_KEY]
    channel_id = _channel_id(request)
    try:
        if channel_id is None:
            raise operations.ChannelNotFoundError("")
        view = await operations.get_view(gateway, channel_id)
    except operations.ChannelNotFoundError:
        return error_page(404, *_NOT_FOUND)
    return settings_page(view, gateway.form_token(view.id))


async def submit(request: web.Request) -> web.Response:
    """ "Update", "Update and activate", "Delete" or "Disconnect Store"."""
    gateway = request.app[GATEWAY_KEY]
    channel_id = _channel_id(request)
    if channel_id is None:
        return error_page(404, *_NOT_FOUND)
    form = await request.post()
    token = str(form.get("form_token", ""))
    if not hmac.compare_digest(token.encode(), gateway.form_token(channel_id).encode()):
        return error_page(403, "Form expired", "Reload the settings page and try again.")
    action = str(form.get("action", "update"))
    try:
        if action == "delete":
            await operations.delete(gateway, channel_id)
            return error_page(200, "Channel deleted", "The channel was removed from Click & Drop.")
        if action == "disconnect":
            view = await operations.disconnect(gateway, channel_id)
            notice = "Store disconnected. To reconnect, install the app again from BigCommerce."
            return settings_page(view, gateway.form_token(channel_id), notice=notice)
        settings = ChannelSettings(
            trading_name=str(form.get("trading_name", "")),
            store_name=str(form.get("store_name", "")),
            mark_orders_as_despatched=form.get("mark_orders_as_despatched") == "on",
        )
        return await _apply(gateway, channel_id, settings, activate=action == "activate")
    except ValidationError as error:
        fields = {
            ".".join(map(str, e["loc"])).replace("_", " ").capitalize(): e["msg"] for e in error.errors()
        }
        view = await operations.get_view(gateway, channel_id)
        return settings_page(view, gateway.form_token(channel_id), errors=fields, status=422)
    except operations.ChannelNotFoundError:
        return error_page(404, *_NOT_FOUND)
    except (operations.ChannelStateError, operations.RequiredFieldError) as error:
        view = await operations.get_view(gateway, channel_id)
        fields = {f.replace("_", " ").capitalize(): d for f, d in error.fields.items()} or {
            "Channel": str(error)
        }
        # a field to fill in is the form's problem (422); a channel that cannot be activated is 409
        status = 422 if error.fields else 409
        return settings_page(view, gateway.form_token(channel_id), errors=fields, status=status)


async def _apply(
    gateway: Gateway, channel_id: uuid.UUID, settings: ChannelSettings, *, activate: bool
) -> web.Response:
    if activate:
        view = await operations.activate(gateway, channel_id, settings)
        notice = "Your channel is active; orders will start to download."
    else:
        view = await operations.update_settings(gateway, channel_id, settings)
        notice = "Settings saved."
    return settings_page(view, gateway.form_token(channel_id), notice=notice)


def add_settings_routes(app: web.Application) -> None:
    app.router.add_get("/channels/{channel_id}/settings", show)
    app.router.add_post("/channels/{channel_id}/settings", submit)
