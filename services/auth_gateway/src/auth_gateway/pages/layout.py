"""The frame of every merchant page the gateway serves: header, main landmark, style sheet, security headers."""

from __future__ import annotations

import hashlib
from html import escape
from importlib.resources import files

from aiohttp import web

_STYLESHEET = files("auth_gateway.pages").joinpath("static/clickdrop.css").read_text(encoding="utf-8")
# The content's hash in the name: browsers may keep it for a year, and a new release is a new URL.
STYLESHEET_PATH = f"/assets/clickdrop-{hashlib.sha256(_STYLESHEET.encode()).hexdigest()[:12]}.css"

# The pages render inside BigCommerce's control panel (store-{hash}.mybigcommerce.com, and the
# install flow on *.bigcommerce.com): no other site may frame them. The exact framing origins are
# not documented (unverified), so the narrowest pair that covers the control panel is allowed.
FRAME_ANCESTORS = "'self' https://*.mybigcommerce.com https://*.bigcommerce.com"
# No scripts at all; styles only from our own sheet; forms post only back to the gateway; the
# launch token in a URL never leaves as Referer.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; "
        f"frame-ancestors {FRAME_ANCESTORS}"
    ),
    # for browsers without CSP's frame-ancestors: no framing but our own; browsers that have it
    # follow the policy above and ignore this header (CSP Level 2), so the control panel still frames
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def page(title: str, main: str, *, status: int = 200, heading: str | None = None) -> web.Response:
    """A whole page: `heading` (already escaped HTML, else `title`) as its h1, `main` (already escaped) below."""
    h1 = heading if heading is not None else escape(title)
    html = (
        '<!doctype html><html lang="en-GB"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        f'<link rel="stylesheet" href="{STYLESHEET_PATH}"></head><body>'
        '<a class="skip" href="#main">Skip to content</a>'
        '<header class="topbar"><span class="brand"><span class="badge">Royal Mail</span>'
        "Click &amp; Drop</span>"
        '<nav aria-label="Click &amp; Drop"><ul><li><a aria-current="page">Settings</a></li></ul></nav>'
        "</header>"
        f'<main id="main" tabindex="-1"><h1>{h1}</h1>{main}</main></body></html>'
    )
    return web.Response(text=html, status=status, content_type="text/html", headers=_HEADERS)


def redirect(location: str) -> web.Response:
    """303 See Other: the browser follows with a GET, so a reload never sends a form again."""
    return web.Response(status=303, headers={"Location": location, **_HEADERS})


async def stylesheet(_: web.Request) -> web.Response:
    return web.Response(
        text=_STYLESHEET,
        content_type="text/css",
        headers={"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"},
    )


def add_asset_routes(app: web.Application) -> None:
    """The style sheet: served always, since the "App installed" and error pages use it too."""
    app.router.add_get(STYLESHEET_PATH, stylesheet)
