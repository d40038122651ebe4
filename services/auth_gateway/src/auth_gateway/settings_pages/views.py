"""The settings page and its forms: "Update", "Update and activate", and Retry of a failed write-back.

Every form answers with a redirect to the page (post/redirect/get): a reload never sends it again.
A refused form comes back with the values typed and a message beside each field concerned.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web
from common.db.despatches import retry_despatch
from multidict import MultiDictProxy
from pydantic import ValidationError

from auth_gateway import operations
from auth_gateway.context import GATEWAY_KEY
from auth_gateway.launch import redeem
from auth_gateway.models import ChannelSettings
from auth_gateway.page_sessions import start_session
from auth_gateway.pages.flash import Flash
from auth_gateway.pages.settings_page import SettingsPage, settings_page
from auth_gateway.settings_pages.flashes import (
    field_sentence,
    flash_for,
    redirect_with,
    typed_values,
    validation_sentences,
)
from auth_gateway.settings_pages.guard import (
    PageRequest,
    channel_id_of,
    forbidden,
    not_found,
    page_request,
    posted_form,
)
from auth_gateway.sync_health import read_sync_health

# An order id as BigCommerce numbers them (a positive 32-bit integer).
_MAX_ORDER_ID = 2**31 - 1


async def show(request: web.Request) -> web.Response:
    """The page; with `?launch=<token>` it first starts a session and redirects to the clean URL."""
    gateway = request.app[GATEWAY_KEY]
    launch_token = request.query.get("launch")
    if launch_token is not None:
        channel_id = channel_id_of(request)
        if channel_id is None:
            return not_found(gateway)
        launch = await redeem(gateway.pool, launch_token, channel_id=channel_id)
        if launch is None:
            return forbidden(gateway)
        return await start_session(gateway, request, launch)
    checked = await page_request(request)
    if isinstance(checked, web.Response):
        return checked
    try:
        view = await operations.get_view(gateway, checked.channel_id)
    except operations.ChannelNotFoundError:
        return not_found(gateway)
    model = SettingsPage(
        view=view,
        health=await read_sync_health(gateway, checked.channel_id),
        csrf_token=checked.session.csrf_token,
        flash=await flash_for(checked),
        control_panel_url=gateway.settings.bigcommerce_control_panel_url,
        now=datetime.now(UTC),
    )
    return settings_page(model)


async def submit(request: web.Request) -> web.Response:
    """ "Update" or "Update and activate" (the form's two submit buttons)."""
    posted = await posted_form(request)
    if isinstance(posted, web.Response):
        return posted
    checked, form = posted
    action = form.get("action", "update")
    if action not in ("update", "activate"):
        return await redirect_with(
            checked, Flash(problem="That button is not on this page any more; nothing was changed.")
        )
    if "trading_name" not in form or "store_name" not in form:
        # the page's form always sends both; a missing one must not read as "emptied"
        return await redirect_with(checked, Flash(problem="The form was incomplete; nothing was changed."))
    return await _apply(checked, form, activate=action == "activate")


async def _apply(checked: PageRequest, form: MultiDictProxy[str], *, activate: bool) -> web.Response:
    gateway, channel_id = checked.gateway, checked.channel_id
    trading_name, store_name = form.get("trading_name", ""), form.get("store_name", "")
    # an unticked checkbox is not sent at all
    mark = form.get("mark_orders_as_despatched") == "on"
    typed = typed_values(trading_name, store_name, mark)
    try:
        settings = ChannelSettings(
            trading_name=trading_name, store_name=store_name, mark_orders_as_despatched=mark
        )
        before = await operations.get_view(gateway, channel_id)
        if activate:
            await operations.activate(gateway, channel_id, settings)
            notice = (
                "Reconnected: your channel is active again and your orders download now."
                if before.status == "disconnected"
                else "Your channel is active; orders will start to download."
            )
        else:
            await operations.update_settings(gateway, channel_id, settings)
            notice = "Settings saved."
    except ValidationError as error:
        return await redirect_with(checked, Flash(field_errors=validation_sentences(error), typed=typed))
    except operations.ChannelNotFoundError:
        return not_found(gateway)
    except (operations.ChannelStateError, operations.RequiredFieldError) as error:
        fields = {name: field_sentence(name, detail) for name, detail in error.fields.items()}
        problem = "" if fields else _sentence(str(error))
        return await redirect_with(checked, Flash(problem=problem, field_errors=fields, typed=typed))
    return await redirect_with(checked, Flash(notice=notice))


def _sentence(text: str) -> str:
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


async def retry(request: web.Request) -> web.Response:
    """Retry of one order's failed write-back: queued for the writer's next flush."""
    posted = await posted_form(request)
    if isinstance(posted, web.Response):
        return posted
    checked, form = posted
    raw = form.get("order_id", "")
    if not (raw.isascii() and raw.isdigit() and 0 < int(raw) <= _MAX_ORDER_ID):
        return await redirect_with(checked, Flash(problem="No such order; nothing was changed."))
    order_id = int(raw)
    queued = await retry_despatch(checked.gateway.pool, checked.channel_id, order_id)
    if queued:
        flash = Flash(notice=f"Order #{order_id} is queued again: it is written back at the next write-back.")
    else:
        flash = Flash(
            problem=f"Order #{order_id} has no failed write-back now (it may have been retried already)."
        )
    return await redirect_with(checked, flash)
