"""What every settings page request passes first: a channel id, a launch's session for it, and for a form its CSRF token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from auth_gateway.context import GATEWAY_KEY, Gateway
from auth_gateway.db.sessions import SettingsSession
from auth_gateway.page_sessions import csrf_matches, current_session, settings_path
from auth_gateway.pages.errors import error_page, too_large_page

NOT_FOUND = ("Channel not found", "This channel does not exist or was deleted.")
OPEN_FROM_BIGCOMMERCE = (
    "Open Click & Drop from BigCommerce",
    "This page opens from the Apps menu of your BigCommerce control panel (or the link on the "
    '"App installed" page). Open the app there again.',
)


@dataclass(frozen=True)
class PageRequest:
    """A request of a live session for its own channel."""

    gateway: Gateway
    channel_id: uuid.UUID
    session: SettingsSession

    @property
    def settings_url(self) -> str:
        return settings_path(self.channel_id)


def channel_id_of(request: web.Request) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.match_info["channel_id"])
    except ValueError:
        return None


def go_to_bigcommerce(gateway: Gateway) -> tuple[str, str]:
    return ("Go to your BigCommerce control panel", gateway.settings.bigcommerce_control_panel_url)


def not_found(gateway: Gateway) -> web.Response:
    return error_page(404, *NOT_FOUND, onward=go_to_bigcommerce(gateway))


def forbidden(gateway: Gateway) -> web.Response:
    return error_page(403, *OPEN_FROM_BIGCOMMERCE, onward=go_to_bigcommerce(gateway))


async def page_request(request: web.Request) -> PageRequest | web.Response:
    """The request's session for the channel in its path, or the page to answer instead (404, 403)."""
    gateway = request.app[GATEWAY_KEY]
    channel_id = channel_id_of(request)
    if channel_id is None:
        return not_found(gateway)
    session = await current_session(gateway, request, channel_id)
    if session is None:
        return forbidden(gateway)
    return PageRequest(gateway, channel_id, session)


async def posted_form(request: web.Request) -> tuple[PageRequest, MultiDictProxy[str]] | web.Response:
    """A form posted by the session's own page (its CSRF token), or the page to answer instead."""
    checked = await page_request(request)
    if isinstance(checked, web.Response):
        return checked
    try:
        raw = await request.post()
    except web.HTTPRequestEntityTooLarge:
        return too_large_page(checked.settings_url, checked.gateway.settings.max_body_bytes)
    except ValueError:  # a body that is not a form
        return error_page(
            400, "Form not readable", "Reload the settings page and try again.", onward=_back(checked)
        )
    # files are not part of any of these forms: only text fields count
    form = MultiDictProxy(MultiDict((k, v) for k, v in raw.items() if isinstance(v, str)))
    if not csrf_matches(checked.session, form.get("csrf_token", "")):
        return error_page(
            403,
            "Form expired",
            "Nothing was changed. Reload the settings page and try again.",
            onward=_back(checked),
        )
    return checked, form


def _back(checked: PageRequest) -> tuple[str, str]:
    return ("Back to the settings page", checked.settings_url)
