"""The merchant's side of install: marketplace page, permissions + Confirm, Launch, Uninstall."""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from aiohttp import web

from bigcommerce_sandbox.html import chosen_store, page, store_picker, store_query
from bigcommerce_sandbox.middlewares import SANDBOX_KEY
from bigcommerce_sandbox.oauth import granted_scope
from bigcommerce_sandbox.store_view import ORDERS_PATH

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


def _redirect(location: str) -> web.Response:
    """A 302 with `location` exactly as given (HTTPFound would re-encode `%2F` as `/`)."""
    return web.Response(status=302, headers={"Location": location})


@routes.get("/marketplace")
async def marketplace(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    if not sandbox.stores:
        return page("App Marketplace", "<p>The sandbox has no stores yet.</p>", current="marketplace")
    store = chosen_store(sandbox, request)
    message = request.query.get("message", "")
    notice = f'<p class="notice" role="status">{escape(message)}</p>' if message else ""
    query = store_query(store.hash)
    if store.installed:
        actions = (
            f'<a class="button" href="/marketplace/launch?{query}">Launch</a>'
            '<form method="post" action="/marketplace/uninstall" class="inline">'
            f'<input type="hidden" name="store" value="{escape(store.hash)}">'
            '<button type="submit" class="secondary">Uninstall</button></form>'
        )
    else:
        actions = f'<a class="button" href="/marketplace/install?{query}">Install</a>'
    app_name = escape(sandbox.config.name)
    body = (
        store_picker(sandbox, "/marketplace", store)
        + notice
        + f"<p>Apps for <strong>{escape(store.name)}</strong> (store hash {escape(store.hash)}), "
        "search results for 'Click &amp; Drop':</p>"
        f'<section class="card" aria-labelledby="app-name"><h2 id="app-name">{app_name} app</h2>'
        "<p>Download and process your orders in Royal Mail Click &amp; Drop.</p>"
        f"{actions}</section>"
        f'<p><a href="{ORDERS_PATH}?{query}">See the orders of {escape(store.name)}</a>: their status, '
        "shipments and tracking links, as the app downloads and completes them.</p>"
    )
    return page("App Marketplace", body, store_hash=store.hash, current="marketplace")


@routes.get("/marketplace/install")
async def permissions(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    store = chosen_store(sandbox, request)
    labels = [SCOPE_LABELS.get(s, s) for s in granted_scope(sandbox.config.scopes) if s != "store_v2_default"]
    items = "".join(f"<li>{escape(label)}</li>" for label in labels)
    users = "".join(f'<option value="{u.id}">{escape(u.email)}</option>' for u in [store.owner, *store.users])
    app_name = escape(sandbox.config.name)
    body = (
        f"<p>{app_name} is requesting access to your BigCommerce store "
        f"<strong>{escape(store.name)}</strong>.</p>"
        f"<p>If you agree, the following permissions will be granted:</p><ul>{items}</ul>"
        f"<p>{app_name} will not be able to:</p><ul><li>Access your password</li></ul>"
        '<form method="post" action="/marketplace/install">'
        f'<input type="hidden" name="store" value="{escape(store.hash)}">'
        f'<p><label for="user_id">Signed in as</label> <select id="user_id" name="user_id">{users}</select></p>'
        '<button type="submit">Confirm</button></form>'
    )
    return page(f"Install {sandbox.config.name}", body, store_hash=store.hash, current="marketplace")


@routes.post("/marketplace/install")
async def confirm(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    form = await request.post()
    store = chosen_store(sandbox, request, str(form.get("store", "")))
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
    store = chosen_store(sandbox, request)
    if not store.installed:
        raise web.HTTPConflict(text="The app is not installed on this store.")
    token = sandbox.signed_payload(store.hash)
    query = urlencode({"signed_payload_jwt": token})
    return _redirect(f"{sandbox.config.load_callback_url}?{query}")


@routes.post("/marketplace/uninstall")
async def uninstall(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    form = await request.post()
    store = chosen_store(sandbox, request, str(form.get("store", "")))
    call = await sandbox.uninstall_and_notify(store.hash)
    outcome = f"status {call.status}" if call.status is not None else call.error
    message = f"{sandbox.config.name} was uninstalled; the app's uninstall callback: {outcome}."
    query = urlencode({"store": store.hash, "message": message})
    raise web.HTTPSeeOther(f"/marketplace?{query}")
