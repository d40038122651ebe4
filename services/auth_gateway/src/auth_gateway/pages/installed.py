"""The "App installed" page, where BigCommerce's install (or reinstall) leaves the merchant."""

from __future__ import annotations

from html import escape

from aiohttp import web
from common.db.channels import ChannelStatus

from auth_gateway.pages.layout import page

# CONTRACT §4's wording for a new channel, which still has to be activated.
INSTALLED_LINK_TEXT = "Check your settings and activate your new channel on the channel settings page"
# A reinstall of an active channel (or the return of one activated before) has nothing to activate.
REINSTALLED_LINK_TEXT = "Check your settings on the channel settings page"


def installed_page(settings_url: str, status: ChannelStatus) -> web.Response:
    """`target="_top"`: the page renders in BigCommerce's iframe, the settings page opens in the window."""
    if status == "active":
        text = (
            "Royal Mail Click &amp; Drop is connected to your BigCommerce store again. Your channel is "
            "active, with its settings kept: your orders download as before."
        )
        link = REINSTALLED_LINK_TEXT
    else:
        text = (
            "Royal Mail Click &amp; Drop is now installed in your BigCommerce store. Your orders start to "
            "download once you activate the channel."
        )
        link = INSTALLED_LINK_TEXT
    body = (
        f'<p class="notice" role="status">{text}</p>'
        f'<p><a href="{escape(settings_url)}" target="_top">{escape(link)}</a></p>'
    )
    return page("App installed", body)
