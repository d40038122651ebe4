"""Pages for what cannot be done, each saying why and what to do next."""

from __future__ import annotations

from html import escape

from aiohttp import web

from auth_gateway.pages.layout import page


def error_page(
    status: int, title: str, message: str, *, onward: tuple[str, str] | None = None
) -> web.Response:
    """`onward`: (link text, URL) of the way on, when there is one to offer."""
    link = ""
    if onward is not None:
        text, url = onward
        link = f'<p><a href="{escape(url)}" target="_top">{escape(text)}</a></p>'
    return page(title, f'<div class="problem"><p>{escape(message)}</p></div>{link}', status=status)


def too_large_page(settings_url: str, max_bytes: int) -> web.Response:
    """A form larger than the gateway reads (MAX_BODY_BYTES): said as a page, not raw text."""
    return error_page(
        413,
        "Too much text",
        f"The form sent more than {max_bytes // 1024} KB, which is far more than its fields hold, so "
        "nothing was changed. Open the settings page again and shorten what you typed.",
        onward=("Back to the settings page", settings_url),
    )
