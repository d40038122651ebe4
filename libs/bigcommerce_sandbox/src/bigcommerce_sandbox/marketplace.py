"""The merchant's side of install: marketplace page, permissions + Confirm, Launch, Uninstall."""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from aiohttp import web

from bigcommerce_sandbox.middlewares import SANDBOX_KEY
from bigcommerce_sandbox.models import Store
from bigcommerce_sandbox.oauth import granted_scope
from bigcommerce_sandbox.sandbox import Sandbox

routes = web.RouteTableDef()

# Consent wording: the merchant guide's labels where it shows one, else BigCommerce's
# scope description (reference §3).
SCOPE_LABELS = {
    "store_v2_orders": "View and modify orders",
    "store_v2_orders_read_only": "View orders",
    "store_v2_products": "View and modify products",
    "store_v2_products_read_only": "View products",
    "store_v2_content_read_only": "View site content",
    "store_v2_information": "View and modify basic store information",
    "store_v2_information_read_only": "View general store information",
    "store_v2_customers": "View and modify customer information",
    "store_v2_customers_read_only": "View customer information",
    "store_v2_transactions_read_only": "View order transactions",
    "users_basic_information": "View your basic information (name, email)",
}

_STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:46em}"
    ".card{border:1px solid #ccc;border-radius:6px;padding:1em;margin:1em 0}"
    "button,.button{padding:.5em 1em;margin-right:.5em}"
)


def _page(title: str, body: str) -> web.Response:
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return web.Response(text=html, content_type="text/html")


def _redirect(location: str) -> web.Response:
    """A 302 with `location` exactly as given (HTTPFound would re-encode `%2F` as `/`)."""
    return web.Response(status=302, headers={"Location": location})


def _store(sandbox: Sandbox, request: web.Request, form_value: str | None = None) -> Store:
    store_hash = form_value or request.query.get("store") or next(iter(sandbox.stores), "")
    store = sandbox.stores.get(store_hash)
    if store is None:
        raise web.HTTPNotFound(text=f"No store {store_hash!r} in the sandbox.")
    return store


@routes.get("/marketplace")
async def marketplace(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    if not sandbox.stores:
        return _page("App Marketplace", "<p>The sandbox has no stores yet.</p>")
    store = _store(sandbox, request)
    picker = " | ".join(
        f"<a href='/marketplace?store={escape(h)}'>{escape(s.name)} ({escape(h)})</a>"
        for h, s in sandbox.stores.items()
    )
    message = request.query.get("message", "")
    notice = f"<p><strong>{escape(message)}</strong></p>" if message else ""
    query = escape(urlencode({"store": store.hash}))
    if store.installed:
        actions = (
            f"<a class='button' href='/marketplace/launch?{query}'>Launch</a>"
            "<form method='post' action='/marketplace/uninstall' style='display:inline'>"
            f"<input type='hidden' name='store' value='{escape(store.hash)}'>"
            "<button type='submit'>Uninstall</button></form>"
        )
    else:
        actions = f"<a class='button' href='/marketplace/install?{query}'>Install</a>"
    app_name = escape(sandbox.config.name)
    body = (
        f"<p>Stores: {picker}</p>{notice}"
        f"<p>Apps for <strong>{escape(store.name)}</strong> (store hash {escape(store.hash)}), "
        "search results for 'Click &amp; Drop':</p>"
        f"<div class='card'><h2>{app_name} app</h2>"
        "<p>Download and process your orders in Royal Mail Click &amp; Drop.</p>"
        f"{actions}</div>"
    )
    return _page("App Marketplace", body)


@routes.get("/marketplace/install")
async def permissions(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    store = _store(sandbox, request)
    labels = [SCOPE_LABELS.get(s, s) for s in granted_scope(sandbox.config.scopes) if s != "store_v2_default"]
    items = "".join(f"<li>{escape(label)}</li>" for label in labels)
    users = "".join(f"<option value='{u.id}'>{escape(u.email)}</option>" for u in [store.owner, *store.users])
    app_name = escape(sandbox.config.name)
    body = (
        f"<p>{app_name} is requesting access to your BigCommerce store "
        f"<strong>{escape(store.name)}</strong>.</p>"
        f"<p>If you agree, the following permissions will be granted:</p><ul>{items}</ul>"
        f"<p>{app_name} will not be able to:</p><ul><li>Access your password</li></ul>"
        "<form method='post' action='/marketplace/install'>"
        f"<input type='hidden' name='store' value='{escape(store.hash)}'>"
        f"<label>Signed in as <select name='user_id'>{users}</select></label> "
        "<button type='submit'>Confirm</button></form>"
    )
    return _page(f"Install {sandbox.config.name}", body)


@routes.post("/marketplace/install")
async def confirm(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    form = await request.post()
    store = _store(sandbox, request, str(form.get("store", "")))
    raw_user = str(form.get("user_id", ""))
    user_id = int(raw_user) if raw_user.isdigit() else None
    if user_id is not None and store.user(user_id) is None:
        raise web.HTTPBadRequest(text="Unknown user.")
    callback = sandbox.authorize(store.hash, user_id=user_id)
    # The merchant's browser carries the code to the app (reference §1.1).
    return _redirect(callback.url)


@routes.get("/marketplace/launch")
async def launch(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    store = _store(sandbox, request)
    if not store.installed:
        raise web.HTTPConflict(text="The app is not installed on this store.")
    token = sandbox.signed_payload(store.hash)
    query = urlencode({"signed_payload_jwt": token})
    return _redirect(f"{sandbox.config.load_callback_url}?{query}")


@routes.post("/marketplace/uninstall")
async def uninstall(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    form = await request.post()
    store = _store(sandbox, request, str(form.get("store", "")))
    call = await sandbox.uninstall_and_notify(store.hash)
    outcome = f"status {call.status}" if call.status is not None else call.error
    message = f"{sandbox.config.name} was uninstalled; the app's uninstall callback: {outcome}."
    query = urlencode({"store": store.hash, "message": message})
    raise web.HTTPSeeOther(f"/marketplace?{query}")
