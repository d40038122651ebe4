"""The confirmation step before "Delete" and "Disconnect Store", and the page after a channel is deleted."""

from __future__ import annotations

from html import escape

from aiohttp import web

from auth_gateway.models import ChannelView
from auth_gateway.pages.layout import page


def _confirm_form(action: str, csrf_token: str, button: str, cancel_url: str) -> str:
    return (
        f'<form method="post" action="{action}"><input type="hidden" name="csrf_token" '
        f'value="{escape(csrf_token)}"><div class="actions">'
        f'<a class="button secondary" href="{cancel_url}">Cancel</a>'
        f'<button type="submit">{escape(button)}</button></div></form>'
    )


def confirm_disconnect_page(view: ChannelView, csrf_token: str) -> web.Response:
    settings = f"/channels/{view.id}/settings"
    store = escape(view.store_name or view.store_hash)
    body = (
        f"<p>No more orders will download from <strong>{store}</strong>, and no despatches will be "
        "written back to it.</p><p>The Click &amp; Drop app stays installed in BigCommerce and your "
        "settings are kept: to reconnect, come back to this page and click Update and activate.</p>"
        + _confirm_form(f"{settings}/disconnect", csrf_token, "Disconnect Store", settings)
    )
    return page("Disconnect Store?", body, heading=f"Disconnect {store}?")


def confirm_delete_page(view: ChannelView, csrf_token: str) -> web.Response:
    settings = f"/channels/{view.id}/settings"
    store = escape(view.store_name or view.store_hash)
    body = (
        f"<p>Deleting removes <strong>{store}</strong> from Click &amp; Drop: its settings, its "
        "access to your BigCommerce store and its record of despatches. This cannot be undone.</p>"
        "<p>The Click &amp; Drop app stays installed in your BigCommerce store. To connect the store "
        "again later, uninstall the app there and install it again.</p>"
        + _confirm_form(f"{settings}/delete", csrf_token, "Delete channel", settings)
    )
    return page("Delete this channel?", body, heading=f"Delete {store}?")


def deleted_page(control_panel_url: str) -> web.Response:
    body = (
        '<p class="notice" role="status">The channel was deleted from Click &amp; Drop, with its settings '
        "and records.</p><h2>What next</h2><p>The Click &amp; Drop app is still installed in your "
        "BigCommerce store. Uninstall it from the Apps menu of your BigCommerce control panel if you no "
        "longer need it; to connect the store to Click &amp; Drop again, uninstall it and install it "
        "again.</p>"
        f'<p><a class="button" href="{escape(control_panel_url)}" target="_top">Go to your BigCommerce '
        "control panel</a></p>"
    )
    return page("Channel deleted", body)
