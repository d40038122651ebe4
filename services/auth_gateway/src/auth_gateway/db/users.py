"""Control-panel users of a store who installed or opened the app (auth and load callbacks)."""

from __future__ import annotations

import uuid

import asyncpg
from pydantic import BaseModel, ConfigDict


class ChannelUser(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: int
    email: str
    username: str
    is_owner: bool


UPSERT_USER = """
INSERT INTO channel_users (channel_id, user_id, email, username, is_owner)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (channel_id, user_id) DO UPDATE
   SET email = CASE WHEN EXCLUDED.email = '' THEN channel_users.email ELSE EXCLUDED.email END,
       username = CASE WHEN EXCLUDED.username = '' THEN channel_users.username
                       ELSE EXCLUDED.username END,
       is_owner = channel_users.is_owner OR EXCLUDED.is_owner,
       last_seen_at = now()
"""


async def upsert_user(
    conn: asyncpg.Connection | asyncpg.Pool, channel_id: uuid.UUID, user: ChannelUser
) -> None:
    await conn.execute(UPSERT_USER, channel_id, user.user_id, user.email, user.username, user.is_owner)


DELETE_USER = "DELETE FROM channel_users WHERE channel_id = $1 AND user_id = $2"


async def remove_user(conn: asyncpg.Connection | asyncpg.Pool, channel_id: uuid.UUID, user_id: int) -> bool:
    """Forget a user; True when they were known."""
    result: str = await conn.execute(DELETE_USER, channel_id, user_id)
    return result.endswith(" 1")
