"""Sessions of the gateway's settings pages, each started by a launch and bound to a channel and user."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict


class SettingsSession(BaseModel):
    model_config = ConfigDict(frozen=True)

    # the SHA-256 of the cookie: the row's key
    session_sha256: bytes
    channel_id: uuid.UUID
    user_id: int | None
    csrf_token: str


INSERT_SESSION = """
INSERT INTO settings_sessions (session_sha256, channel_id, user_id, csrf_token, expires_at)
VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
"""


async def insert_session(
    conn: asyncpg.Connection | asyncpg.Pool, session: SettingsSession, ttl_s: float
) -> None:
    await conn.execute(
        INSERT_SESSION, session.session_sha256, session.channel_id, session.user_id, session.csrf_token, ttl_s
    )


SELECT_SESSION = """
SELECT session_sha256, channel_id, user_id, csrf_token FROM settings_sessions
 WHERE session_sha256 = $1 AND expires_at > now()
"""


async def get_session(
    conn: asyncpg.Connection | asyncpg.Pool, session_sha256: bytes
) -> SettingsSession | None:
    """The live session with this cookie, or None (unknown, expired or ended)."""
    record = await conn.fetchrow(SELECT_SESSION, session_sha256)
    return SettingsSession.model_validate(dict(record)) if record else None


# the pool encodes and decodes jsonb (common.db.pool)
SET_FLASH = "UPDATE settings_sessions SET flash = $2 WHERE session_sha256 = $1"


async def set_flash(
    conn: asyncpg.Connection | asyncpg.Pool, session_sha256: bytes, flash: dict[str, Any]
) -> None:
    """What the next page of this session shows once (replacing anything not shown yet)."""
    await conn.execute(SET_FLASH, session_sha256, flash)


# Read and cleared in one statement: two tabs reloading at once show it once between them.
TAKE_FLASH = """
UPDATE settings_sessions AS s SET flash = NULL
  FROM (SELECT session_sha256, flash FROM settings_sessions WHERE session_sha256 = $1 FOR UPDATE) AS old
 WHERE s.session_sha256 = old.session_sha256 AND old.flash IS NOT NULL
RETURNING old.flash
"""


async def take_flash(conn: asyncpg.Connection | asyncpg.Pool, session_sha256: bytes) -> dict[str, Any] | None:
    """The flash left for this session, cleared as it is read; None when there is none."""
    flash: dict[str, Any] | None = await conn.fetchval(TAKE_FLASH, session_sha256)
    return flash


DELETE_SESSION = "DELETE FROM settings_sessions WHERE session_sha256 = $1"


async def delete_session(conn: asyncpg.Connection | asyncpg.Pool, session_sha256: bytes) -> None:
    await conn.execute(DELETE_SESSION, session_sha256)


END_USER_SESSIONS = "DELETE FROM settings_sessions WHERE channel_id = $1 AND user_id = $2"


async def end_user_sessions(conn: asyncpg.Connection, channel_id: uuid.UUID, user_id: int) -> int:
    """End every session of a user BigCommerce removed from the app; returns how many."""
    result: str = await conn.execute(END_USER_SESSIONS, channel_id, user_id)
    return int(result.rsplit(" ", 1)[-1])


PURGE_EXPIRED = "DELETE FROM settings_sessions WHERE expires_at < now()"


async def purge_expired_sessions(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    result: str = await conn.execute(PURGE_EXPIRED)
    return int(result.rsplit(" ", 1)[-1])
