"""The channel settings pages (demo only): the guide's form, calling the same operations as the API.

They open only for a session a launch started (`page_sessions`), for that session's channel.
"""

from __future__ import annotations

import uuid

from aiohttp import web
from pydantic import ValidationError

from auth_gateway import operations
from auth_gateway.context import GATEWAY_KEY, Gateway
from auth_gateway.db.sessions import SettingsSession
from auth_gateway.launch import redeem
from auth_gateway.models import ChannelSettings
from auth_gateway.page_sessions import csrf_matches, current_session, end_session, start_session
from auth_gateway.pages import error_page, settings_page

_NOT_FOUND = ("Channel not found", "This channel does not exist or was deleted.")
_OPEN_FROM_BIGCOMMERCE = (
    "Open Click & Drop from BigCommerce",
    "This page opens from the Apps menu of your BigCommerce control panel (or the link on the "
    '"App installed" page). Open the app there again.',
)


def _channel_id(request: web.Request) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.match_info["channel_id"])
    except ValueError:
        return None


async def show(request: web.Request) -> web.Response:
    """The page; with `?launch=<token>` it first starts a session and redirects to the clean URL."""
    gateway = request.app[GATEWAY_KEY]
    channel_id = _channel_id(request)
    if channel_id is None:
        return error_page(404, *_NOT_FOUND)
    launch_token = request.query.get("launch")
    if launch_token is not None:
        launch = await redeem(gateway.pool, launch_token, channel_id=channel_id)
        if launch is None:
            return error_page(403, *_OPEN_FROM_BIGCOMMERCE)
        return await start_session(gateway, request, launch)
    session = await current_session(gateway, request, channel_id)
    if session is None:
        return error_page(403, *_OPEN_FROM_BIGCOMMERCE)
    try:
        view = await operations.get_view(gateway, channel_id)
    except operations.ChannelNotFoundError:
        return error_page(404, *_NOT_FOUND)
    return settings_page(view, session.csrf_token)


async def submit(request: web.Request) -> web.Response:
    """ "Update", "Update and activate", "Delete" or "Disconnect Store"."""
    gateway = request.app[GATEWAY_KEY]
    channel_id = _channel_id(request)
    if channel_id is None:
        return error_page(404, *_NOT_FOUND)
    session = await current_session(gateway, request, channel_id)
    if session is None:
        return error_page(403, *_OPEN_FROM_BIGCOMMERCE)
    try:
        form = await request.post()
    except ValueError:  # a body that is not a form
        return error_page(400, "Form not readable", "Reload the settings page and try again.")
    if not csrf_matches(session, str(form.get("csrf_token", ""))):
        return error_page(403, "Form expired", "Reload the settings page and try again.")
    action = str(form.get("action", "update"))
    try:
        if action == "delete":
            await operations.delete(gateway, channel_id)
            response = error_page(200, "Channel deleted", "The channel was removed from Click & Drop.")
            await end_session(gateway, request, response, channel_id)
            return response
        if action == "disconnect":
            view = await operations.disconnect(gateway, channel_id)
            notice = "Store disconnected. To reconnect, install the app again from BigCommerce."
            return settings_page(view, session.csrf_token, notice=notice)
        settings = ChannelSettings(
            trading_name=str(form.get("trading_name", "")),
            store_name=str(form.get("store_name", "")),
            mark_orders_as_despatched=form.get("mark_orders_as_despatched") == "on",
        )
        return await _apply(gateway, channel_id, session, settings, activate=action == "activate")
    except ValidationError as error:
        fields = {
            ".".join(map(str, e["loc"])).replace("_", " ").capitalize(): e["msg"]
            for e in error.errors(include_url=False, include_input=False)
        }
        view = await operations.get_view(gateway, channel_id)
        return settings_page(view, session.csrf_token, errors=fields, status=422)
    except operations.ChannelNotFoundError:
        return error_page(404, *_NOT_FOUND)
    except (operations.ChannelStateError, operations.RequiredFieldError) as error:
        view = await operations.get_view(gateway, channel_id)
        fields = {f.replace("_", " ").capitalize(): d for f, d in error.fields.items()} or {
            "Channel": str(error)
        }
        # a field to fill in is the form's problem (422); a channel that cannot be activated is 409
        status = 422 if error.fields else 409
        return settings_page(view, session.csrf_token, errors=fields, status=status)


async def _apply(
    gateway: Gateway,
    channel_id: uuid.UUID,
    session: SettingsSession,
    settings: ChannelSettings,
    *,
    activate: bool,
) -> web.Response:
    if activate:
        view = await operations.activate(gateway, channel_id, settings)
        notice = "Your channel is active; orders will start to download."
    else:
        view = await operations.update_settings(gateway, channel_id, settings)
        notice = "Settings saved."
    return settings_page(view, session.csrf_token, notice=notice)


def add_settings_routes(app: web.Application) -> None:
    app.router.add_get("/channels/{channel_id}/settings", show)
    app.router.add_post("/channels/{channel_id}/settings", submit)
