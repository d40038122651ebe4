"""The demo's stand-in for Click & Drop's channel settings pages (on with SETTINGS_PAGES_ENABLED).

They call the same operations as the internal API and open only for a session a launch started
(`auth_gateway.page_sessions`), for that session's channel; every form carries its CSRF token.
"""

from __future__ import annotations

from aiohttp import web

from auth_gateway.settings_pages import confirmations, views

SETTINGS = "/channels/{channel_id}/settings"


def add_settings_routes(app: web.Application) -> None:
    app.router.add_get(SETTINGS, views.show)
    app.router.add_post(SETTINGS, views.submit)
    app.router.add_post(f"{SETTINGS}/retry", views.retry)
    app.router.add_get(f"{SETTINGS}/disconnect", confirmations.confirm_disconnect)
    app.router.add_post(f"{SETTINGS}/disconnect", confirmations.disconnect)
    app.router.add_get(f"{SETTINGS}/delete", confirmations.confirm_delete)
    app.router.add_post(f"{SETTINGS}/delete", confirmations.delete)
    app.router.add_get(f"{SETTINGS}/deleted", confirmations.deleted)
