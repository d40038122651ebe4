"""The small HTML pages merchants see: "App installed", errors, and the channel settings page."""

from __future__ import annotations

from html import escape

from aiohttp import web

from auth_gateway.models import ChannelView

INSTALLED_LINK_TEXT = "Check your settings and activate your new channel on the channel settings page"
_STATUS_LABELS = {
    "pending": "Not yet active",
    "active": "Active",
    "reauthorization_required": "Reconnection needed",
    "disconnected": "Disconnected",
}
# The pages render inside BigCommerce's control panel (store-{hash}.mybigcommerce.com, and the
# install flow on *.bigcommerce.com): no other site may frame them. The exact framing origins are
# not documented (unverified), so the narrowest pair that covers the control panel is allowed.
FRAME_ANCESTORS = "'self' https://*.mybigcommerce.com https://*.bigcommerce.com"
# No scripts at all; forms post only back to the gateway; the code in the URL never leaves as Referer.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; "
        f"frame-ancestors {FRAME_ANCESTORS}"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_STYLE = (
    "body{font-family:Arial,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}"
    "th,td{border:1px solid #ccc;padding:.4em .8em;text-align:left}label{display:block;margin:.6em 0}"
    ".error{color:#b00}.notice{color:#060}button{margin-right:.6em}"
)


def _page(title: str, body: str, status: int = 200) -> web.Response:
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return web.Response(text=html, status=status, content_type="text/html", headers=_HEADERS)


def installed_page(settings_url: str) -> web.Response:
    body = (
        "<p>Royal Mail Click &amp; Drop is now connected to your BigCommerce store.</p>"
        f'<p><a href="{escape(settings_url)}" target="_top">{escape(INSTALLED_LINK_TEXT)}</a></p>'
    )
    return _page("App installed", body)


def error_page(status: int, title: str, message: str) -> web.Response:
    return _page(title, f'<p class="error">{escape(message)}</p>', status)


def _row(label: str, value: str) -> str:
    return f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>"


def settings_page(
    channel: ChannelView,
    csrf_token: str,
    *,
    notice: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    """The guide's channel table and form: Trading name*, Store name*, Mark orders as despatched."""
    errors = errors or {}
    table = (
        "<table><tr>"
        + "".join(
            f"<th>{h}</th>"
            for h in (
                "Channel",
                "Store name",
                "Trading name",
                "Country",
                "Username",
                "Connection expires",
                "Status",
            )
        )
        + "</tr><tr>"
        + "".join(
            f"<td>{escape(v)}</td>"
            for v in (
                channel.channel,
                channel.store_name,
                channel.trading_name,
                channel.country,
                channel.username,
                "",
                _STATUS_LABELS[channel.status],
            )
        )
        + "</tr></table>"
    )
    messages = "".join(f'<p class="error">{escape(f)}: {escape(m)}</p>' for f, m in errors.items())
    if notice:
        messages += f'<p class="notice">{escape(notice)}</p>'
    checked = " checked" if channel.mark_orders_as_despatched else ""
    form = (
        f'<form method="post" action="/channels/{channel.id}/settings">'
        f'<input type="hidden" name="csrf_token" value="{escape(csrf_token)}">'
        "<p>* Indicates a required field</p>"
        f'<label>Trading name * <input name="trading_name" maxlength="100" value="{escape(channel.trading_name)}">'
        "</label>"
        f'<label>Store name * <input name="store_name" maxlength="100" value="{escape(channel.store_name)}">'
        "</label>"
        f'<label><input type="checkbox" name="mark_orders_as_despatched" value="on"{checked}> '
        "Mark orders as despatched</label>"
        '<button name="action" value="activate">Update and activate</button>'
        '<button name="action" value="update">Update</button>'
        '<button name="action" value="delete">Delete</button>'
        + (
            '<button name="action" value="disconnect">Disconnect Store</button>'
            if channel.status != "disconnected"
            else ""
        )
        + "</form>"
    )
    details = "<table>" + _row("Status", _STATUS_LABELS[channel.status])
    if channel.last_error:
        details += _row("Last error", channel.last_error)
    details += "</table>"
    return _page("Settings / Integrations", messages + table + form + details, status)
