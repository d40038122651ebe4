"""A settings page that fails on our side answers with a page, never aiohttp's bare "500" text."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from auth_gateway.pages.errors import error_page

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def answered_with_a_page(handler: Handler) -> Handler:
    """Log a failure (the route's template: the query may hold a launch token) and say so as a page.

    Operations are transactional, so a failure leaves the channel as it was or as the operation
    left it in full; the page says to look again rather than guessing which.
    """

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception:
            route = request.match_info.route.resource
            log.exception(
                "settings_page_failed", route=route.canonical if route else "?", method=request.method
            )
            return error_page(
                503,
                "Click & Drop could not complete this",
                "Something went wrong on our side. Wait a minute, then reload the settings page to see "
                "where things stand.",
            )

    return guarded
