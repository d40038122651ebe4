"""The demo's stand-in for Click & Drop's channel settings pages (on with SETTINGS_PAGES_ENABLED).

They call the same operations as the internal API and open only for a session a launch started
(`auth_gateway.page_sessions`), for that session's channel; every form carries its CSRF token.
"""

from __future__ import annotations

from aiohttp import web

from auth_gateway.settings_pages import confirmations, views
from auth_gateway.settings_pages.failures import answered_with_a_page

SETTINGS = "/channels/{channel_id}/settings"
ROUTES = (
    ("GET", SETTINGS, views.show),
    ("POST", SETTINGS, views.submit),
    ("POST", f"{SETTINGS}/retry", views.retry),
    ("GET", f"{SETTINGS}/disconnect", confirmations.confirm_disconnect),
    ("POST", f"{SETTINGS}/disconnect", confirmations.disconnect),
    ("GET", f"{SETTINGS}/delete", confirmations.confirm_delete),
    ("POST", f"{SETTINGS}/delete", confirmations.delete),
    ("GET", f"{SETTINGS}/deleted", confirmations.deleted),
)


def add_settings_routes(app: web.Application) -> None:
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, answered_with_a_page(handler))
