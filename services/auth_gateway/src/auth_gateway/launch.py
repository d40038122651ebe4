"""Launch tokens (CONTRACT §4): issued by Launch and the "App installed" page, redeemed once by Click & Drop.

The token travels in a URL, so it is single-use, lives 5 minutes and is stored only as its
SHA-256: it tells Click & Drop which channel and which BigCommerce user opened the app.
"""

from __future__ import annotations

import secrets
import uuid
from typing import TYPE_CHECKING

from auth_gateway.context import secret_digest
from auth_gateway.db.launches import Launch, LaunchUser, insert_launch, redeem_launch

if TYPE_CHECKING:
    import asyncpg

LAUNCH_TOKEN_TTL_S = 300.0
# token_urlsafe(32) is 43 characters; anything much longer is not one of ours
MAX_LAUNCH_TOKEN_LENGTH = 128


async def issue_launch(conn: asyncpg.Connection, channel_id: uuid.UUID, user: LaunchUser) -> str:
    """A new launch token for this channel and user (in the caller's transaction)."""
    token = secrets.token_urlsafe(32)
    await insert_launch(conn, secret_digest(token), channel_id, user, LAUNCH_TOKEN_TTL_S)
    return token


async def redeem(
    conn: asyncpg.Connection | asyncpg.Pool, token: str, *, channel_id: uuid.UUID | None = None
) -> Launch | None:
    """Use a launch token up; None when it was used before, expired, unknown or for another channel."""
    if not token or len(token) > MAX_LAUNCH_TOKEN_LENGTH:
        return None
    return await redeem_launch(conn, secret_digest(token), channel_id)
