"""Sessions of the demo settings pages: started only by a launch, kept in a cookie, bound to one channel and user.

The cookie holds a random id (only its SHA-256 is stored); each session has its own CSRF token
that every form carries. Over https the cookie is `Secure; SameSite=None`, since the pages live
in BigCommerce's control panel iframe (a third-party context); over plain http (the local demo)
browsers refuse `SameSite=None` without `Secure`, so it is `SameSite=Lax` there.
"""

from __future__ import annotations

import hmac
import secrets
import uuid

from aiohttp import web

from auth_gateway.context import Gateway, secret_digest
from auth_gateway.db.launches import Launch
from auth_gateway.db.sessions import SettingsSession, delete_session, get_session, insert_session

SESSION_COOKIE = "clickdrop_settings_session"
# token_urlsafe(32) is 43 characters; a longer cookie is not one of ours
_MAX_COOKIE_LENGTH = 128


def settings_path(channel_id: uuid.UUID) -> str:
    return f"/channels/{channel_id}/settings"


async def start_session(gateway: Gateway, request: web.Request, launch: Launch) -> web.Response:
    """A session for the launch's channel and user, then a redirect to the clean page URL.

    The redirect drops the launch token from the address bar (and from history and Referer).
    """
    session_id = secrets.token_urlsafe(32)
    session = SettingsSession(
        session_sha256=secret_digest(session_id),
        channel_id=launch.channel_id,
        user_id=launch.user_id,
        csrf_token=secrets.token_urlsafe(32),
    )
    ttl_s = gateway.settings.settings_session_seconds
    await insert_session(gateway.pool, session, ttl_s)
    response = web.Response(status=303, headers={"Location": settings_path(launch.channel_id)})
    https = _https(gateway, request)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=ttl_s,
        path=settings_path(launch.channel_id),
        httponly=True,
        secure=https,
        samesite="None" if https else "Lax",
    )
    return response


async def current_session(
    gateway: Gateway, request: web.Request, channel_id: uuid.UUID
) -> SettingsSession | None:
    """The request's live session for this channel; None without one, or with another channel's."""
    session_id = request.cookies.get(SESSION_COOKIE, "")
    if not session_id or len(session_id) > _MAX_COOKIE_LENGTH:
        return None
    session = await get_session(gateway.pool, secret_digest(session_id))
    if session is None or session.channel_id != channel_id:
        return None
    return session


async def end_session(
    gateway: Gateway, request: web.Request, response: web.Response, channel_id: uuid.UUID
) -> None:
    """Forget the request's session (the channel was deleted) and clear its cookie."""
    session_id = request.cookies.get(SESSION_COOKIE, "")
    if session_id and len(session_id) <= _MAX_COOKIE_LENGTH:
        await delete_session(gateway.pool, secret_digest(session_id))
    response.del_cookie(SESSION_COOKIE, path=settings_path(channel_id))


def csrf_matches(session: SettingsSession, presented: str) -> bool:
    """Constant-time check of a form's CSRF token against its session's."""
    return hmac.compare_digest(presented.encode("utf-8", errors="surrogatepass"), session.csrf_token.encode())


def _https(gateway: Gateway, request: web.Request) -> bool:
    # behind a TLS-terminating proxy the request itself is plain http: the configured URL says
    return request.secure or gateway.settings.clickdrop_app_url.startswith("https://")
