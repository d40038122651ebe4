"""The "App installed" page, where BigCommerce's install (or reinstall) leaves the merchant."""

from __future__ import annotations

from html import escape

from aiohttp import web
from common.db.channels import ChannelStatus

from auth_gateway.pages.layout import page

# CONTRACT §4's wording, on every "App installed" page: a reinstall (which may leave the channel
# active already) says so in the notice above the link instead.
INSTALLED_LINK_TEXT = "Check your settings and activate your new channel on the channel settings page"


def installed_page(settings_url: str, status: ChannelStatus) -> web.Response:
    """`target="_top"`: the page renders in BigCommerce's iframe, the settings page opens in the window."""
    if status == "active":
        text = (
            "Royal Mail Click &amp; Drop is connected to your BigCommerce store again. Your channel is "
            "active, with its settings kept: your orders download as before."
        )
    else:
        text = (
            "Royal Mail Click &amp; Drop is now installed in your BigCommerce store. Your orders start to "
            "download once you activate the channel."
        )
    body = (
        f'<p class="notice" role="status">{text}</p>'
        f'<p><a href="{escape(settings_url)}" target="_top">{escape(INSTALLED_LINK_TEXT)}</a></p>'
    )
    return page("App installed", body)
