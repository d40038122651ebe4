"""The merchant-facing HTML of the sandbox: one page layout, its style sheet, and store selection."""

from __future__ import annotations

from datetime import datetime
from html import escape
from importlib.resources import files
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from bigcommerce_sandbox.models import Store
from bigcommerce_sandbox.sandbox import Sandbox

STYLESHEET_PATH = "/static/sandbox.css"
_STYLESHEET = files("bigcommerce_sandbox").joinpath("static/sandbox.css").read_text(encoding="utf-8")

# No scripts at all, styles only from the sandbox itself. No form-action: Confirm's answer is a
# redirect to the app's auth callback on another origin, which form-action would block.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

routes = web.RouteTableDef()


@routes.get(STYLESHEET_PATH)
async def stylesheet(_: web.Request) -> web.Response:
    return web.Response(
        text=_STYLESHEET, content_type="text/css", headers={"X-Content-Type-Options": "nosniff"}
    )


def store_query(store_hash: str, **extra: str | int) -> str:
    """`store=<hash>&...` for a link, already escaped for an HTML attribute."""
    return escape(urlencode({"store": store_hash, **extra}))


def _nav(store_hash: str | None, current: str) -> str:
    query = f"?{store_query(store_hash)}" if store_hash else ""
    links = (("marketplace", "/marketplace", "App Marketplace"), ("orders", "/manage/orders", "Orders"))
    items = "".join(
        f'<li><a href="{href}{query}"'
        + (' aria-current="page"' if key == current else "")
        + f">{label}</a></li>"
        for key, href, label in links
    )
    return f'<nav aria-label="Sandbox"><ul>{items}</ul></nav>'


def page(
    title: str,
    body: str,
    *,
    store_hash: str | None = None,
    current: str = "",
) -> web.Response:
    """A whole page: `title` as its heading, `body` (already escaped HTML) as its content."""
    html = _document(title, body, store_hash, current)
    return web.Response(text=html, content_type="text/html", headers=_HEADERS)


def _document(title: str, body: str, store_hash: str | None, current: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · BigCommerce sandbox</title>"
        f'<link rel="stylesheet" href="{STYLESHEET_PATH}"></head><body>'
        '<a class="skip" href="#main">Skip to content</a>'
        '<header class="topbar"><span class="brand">BigCommerce <small>sandbox</small></span>'
        f"{_nav(store_hash, current)}</header>"
        f'<main id="main"><h1>{escape(title)}</h1>{body}</main></body></html>'
    )


def not_found(title: str, message: str, *, store_hash: str | None = None) -> web.HTTPNotFound:
    """A 404 page to raise."""
    html = _document(title, f'<p class="error">{escape(message)}</p>', store_hash, "")
    return web.HTTPNotFound(text=html, content_type="text/html", headers=_HEADERS)


def chosen_store(sandbox: Sandbox, request: web.Request, form_value: str | None = None) -> Store:
    """The store named by a form field or `?store=`, else the first; a 404 page when unknown."""
    store_hash = form_value or request.query.get("store") or next(iter(sandbox.stores), "")
    store = sandbox.stores.get(store_hash)
    if store is None:
        raise not_found("Store not found", f"The sandbox has no store {store_hash!r}.")
    return store


def store_picker(sandbox: Sandbox, path: str, current: Store) -> str:
    """Links to the same page of every other store (there is usually one)."""
    if len(sandbox.stores) < 2:
        return ""
    links = "".join(
        f'<li><a href="{path}?{store_query(s.hash)}"'
        + (' aria-current="true"' if s.hash == current.hash else "")
        + f">{escape(s.name)} ({escape(s.hash)})</a></li>"
        for s in sandbox.stores.values()
    )
    return f'<nav aria-label="Stores" class="stores"><ul>{links}</ul></nav>'


def when(moment: datetime | None, shown_as: str = "%d %b %Y %H:%M:%S UTC") -> str:
    """A date as a `<time>` element (`shown_as` a strftime format), or a dash."""
    if moment is None:
        return "—"
    shown = moment.strftime(shown_as)
    return f'<time datetime="{escape(moment.isoformat())}">{shown}</time>'


def safe_href(url: str) -> str | None:
    """`url` if it is an http(s) address, else None: an app may write any text as a link."""
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None
