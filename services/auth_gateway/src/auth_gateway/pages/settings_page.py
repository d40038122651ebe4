"""The channel's "Settings / Integrations" page: the guide's table and form, the state panel and sync health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

from aiohttp import web

from auth_gateway.models import ChannelView
from auth_gateway.pages.flash import FIELD_LABELS, Flash, TypedValues
from auth_gateway.pages.icons import status_icon
from auth_gateway.pages.layout import page
from auth_gateway.pages.states import StateText, state_text
from auth_gateway.pages.sync_panel import sync_panel
from auth_gateway.sync_health import SyncHealth

TITLE = "Settings / Integrations"
HEADING = '<span class="crumb">Settings /</span> Integrations'
# The guide's columns, in its order.
COLUMNS = ("Channel", "Store name", "Trading name", "Country", "Username", "Connection expires", "Status")
NAME_MAX_LENGTH = 100


@dataclass(frozen=True)
class SettingsPage:
    """What the page shows: the channel, its sync health, the session's CSRF token, a flash once."""

    view: ChannelView
    health: SyncHealth
    csrf_token: str
    flash: Flash
    # where "Go to BigCommerce" leads (the control panel)
    control_panel_url: str
    now: datetime


def settings_path(view: ChannelView) -> str:
    return f"/channels/{view.id}/settings"


def _channel_table(view: ChannelView, state: StateText) -> str:
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in COLUMNS)
    cells = [
        escape(view.channel),
        escape(view.store_name),
        escape(view.trading_name),
        escape(view.country),
        escape(view.username),
        # BigCommerce tokens do not expire: blank, as in the guide, but said to screen readers
        '<span class="visually-hidden">Does not expire</span>',
    ]
    row = "".join(f"<td>{c}</td>" for c in cells) + f"<td>{status_icon(view.status, state.label)}</td>"
    return (
        '<table class="channels"><caption class="visually-hidden">Channels and stores</caption>'
        f"<thead><tr>{head}</tr></thead><tbody><tr>{row}</tr></tbody></table>"
    )


def _state_panel(model: SettingsPage, state: StateText) -> str:
    link = ""
    if state.way_out in ("reopen_app", "install_app"):
        link = (
            f'<p><a href="{escape(model.control_panel_url)}" target="_top">Go to your BigCommerce '
            "control panel</a></p>"
        )
    return (
        f'<section class="state state-{model.view.status}" aria-labelledby="state-heading">'
        f'<h2 id="state-heading">{escape(state.title)}</h2><p>{escape(state.explanation)}</p>{link}</section>'
    )


def _messages(flash: Flash) -> str:
    html = ""
    if flash.notice:
        html += f'<p class="notice" role="status">{escape(flash.notice)}</p>'
    if flash.refused:
        items = "".join(
            f'<li><a href="#{name}">{escape(message)}</a></li>'
            for name, message in flash.field_errors.items()
        )
        if flash.problem:
            items = f"<li>{escape(flash.problem)}</li>" + items
        html += f'<div class="problem" role="alert"><h2>Nothing was changed</h2><ul>{items}</ul></div>'
    return html


def _text_field(name: str, value: str, flash: Flash, *, first_error: bool) -> str:
    label = FIELD_LABELS[name]
    error = flash.field_errors.get(name)
    described = f' aria-describedby="{name}-error" aria-invalid="true"' if error else ""
    message = f'<p class="field-error" id="{name}-error">{escape(error)}</p>' if error else ""
    autofocus = " autofocus" if first_error else ""
    return (
        f'<div class="field"><label for="{name}">{escape(label)} <span class="star">*</span></label>'
        f"{message}"
        f'<input type="text" id="{name}" name="{name}" maxlength="{NAME_MAX_LENGTH}" aria-required="true" '
        f'autocomplete="off" value="{escape(value)}"{described}{autofocus}></div>'
    )


def _form(model: SettingsPage, state: StateText) -> str:
    view, flash = model.view, model.flash
    typed = flash.typed or TypedValues(
        trading_name=view.trading_name,
        store_name=view.store_name,
        mark_orders_as_despatched=view.mark_orders_as_despatched,
    )
    first_error = next(iter(flash.field_errors), None)
    checked = " checked" if typed.mark_orders_as_despatched else ""
    path = settings_path(view)
    activate = (
        '<button type="submit" name="action" value="activate">Update and activate</button>'
        if state.can_activate
        else ""
    )
    return (
        f'<form class="settings" method="post" action="{path}" aria-labelledby="settings-heading">'
        f'<input type="hidden" name="csrf_token" value="{escape(model.csrf_token)}">'
        '<p class="required-note"><span class="star">*</span> Indicates a required field</p>'
        + _text_field("trading_name", typed.trading_name, flash, first_error=first_error == "trading_name")
        + _text_field("store_name", typed.store_name, flash, first_error=first_error == "store_name")
        + '<div class="check"><input type="checkbox" id="mark_orders_as_despatched" '
        f'name="mark_orders_as_despatched" value="on" aria-describedby="mark-hint"{checked}>'
        '<div><label for="mark_orders_as_despatched">Mark orders as despatched</label>'
        '<p class="hint" id="mark-hint">Orders you despatch in Click &amp; Drop are marked Completed in '
        "your BigCommerce store, with their Royal Mail tracking.</p></div></div>"
        '<div class="actions">'
        f'<a class="button secondary" href="{path}">Cancel</a>'
        f"{activate}"
        f'<a class="button danger" href="{path}/delete">Delete</a>'
        '<button type="submit" name="action" value="update" class="secondary">Update</button>'
        "</div></form>"
    )


def _disconnect(view: ChannelView, state: StateText) -> str:
    if not state.connected:
        return ""
    return (
        '<p class="actions"><a class="button danger" '
        f'href="{settings_path(view)}/disconnect">Disconnect Store</a></p>'
    )


def _add_a_new(model: SettingsPage) -> str:
    """The guide's "Add a new": a BigCommerce store is added by installing the app in it."""
    return (
        f'<p class="table-actions"><a class="button secondary" href="{escape(model.control_panel_url)}" '
        'target="_top">Add a new store</a></p>'
    )


def settings_page(model: SettingsPage) -> web.Response:
    view = model.view
    state = state_text(view)
    main = (
        _messages(model.flash)
        + _add_a_new(model)
        + _channel_table(view, state)
        + _state_panel(model, state)
        + '<section aria-labelledby="settings-heading"><h2 id="settings-heading">Channel settings</h2>'
        + _form(model, state)
        + _disconnect(view, state)
        + "</section>"
        + sync_panel(view, model.health, model.csrf_token, model.now)
    )
    return page(TITLE, main, heading=HEADING)
