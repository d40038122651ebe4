"""The two actions that need a second click: "Disconnect Store" and "Delete", each behind a confirmation page."""

from __future__ import annotations

import contextlib

from aiohttp import web

from auth_gateway import operations
from auth_gateway.context import GATEWAY_KEY
from auth_gateway.page_sessions import end_session
from auth_gateway.pages.confirm import confirm_delete_page, confirm_disconnect_page, deleted_page
from auth_gateway.pages.flash import Flash
from auth_gateway.pages.layout import redirect
from auth_gateway.settings_pages.flashes import redirect_with
from auth_gateway.settings_pages.guard import channel_id_of, not_found, page_request, posted_form

DISCONNECTED_NOTICE = (
    "Store disconnected: no orders download and nothing is written back. To reconnect, click Update "
    "and activate."
)


async def confirm_disconnect(request: web.Request) -> web.Response:
    checked = await page_request(request)
    if isinstance(checked, web.Response):
        return checked
    try:
        view = await operations.get_view(checked.gateway, checked.channel_id)
    except operations.ChannelNotFoundError:
        return not_found(checked.gateway)
    if view.status == "disconnected":  # nothing left to disconnect (a second tab, or Back)
        return redirect(checked.settings_url)
    return confirm_disconnect_page(view, checked.session.csrf_token)


async def disconnect(request: web.Request) -> web.Response:
    posted = await posted_form(request)
    if isinstance(posted, web.Response):
        return posted
    checked, _ = posted
    try:
        await operations.disconnect(checked.gateway, checked.channel_id)
    except operations.ChannelNotFoundError:
        return not_found(checked.gateway)
    return await redirect_with(checked, Flash(notice=DISCONNECTED_NOTICE))


async def confirm_delete(request: web.Request) -> web.Response:
    checked = await page_request(request)
    if isinstance(checked, web.Response):
        return checked
    try:
        view = await operations.get_view(checked.gateway, checked.channel_id)
    except operations.ChannelNotFoundError:
        return not_found(checked.gateway)
    return confirm_delete_page(view, checked.session.csrf_token)


async def delete(request: web.Request) -> web.Response:
    posted = await posted_form(request)
    if isinstance(posted, web.Response):
        return posted
    checked, _ = posted
    # deleted meanwhile (another tab): the outcome the merchant asked for
    with contextlib.suppress(operations.ChannelNotFoundError):
        await operations.delete(checked.gateway, checked.channel_id)
    response = redirect(f"{checked.settings_url}/deleted")
    await end_session(checked.gateway, request, response, checked.channel_id)
    return response


async def deleted(request: web.Request) -> web.Response:
    """ "Channel deleted": a confirmation with the way on, shown only once the channel is gone."""
    gateway = request.app[GATEWAY_KEY]
    channel_id = channel_id_of(request)
    if channel_id is None:
        return not_found(gateway)
    try:
        await operations.get_view(gateway, channel_id)
    except operations.ChannelNotFoundError:
        return deleted_page(gateway.settings.bigcommerce_control_panel_url)
    # still there: its page says so (and asks for a launch without a session)
    return redirect(f"/channels/{channel_id}/settings")
