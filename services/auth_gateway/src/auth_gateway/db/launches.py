"""Single-use launch tokens: which channel and BigCommerce user a Launch (or an install) opened."""

from __future__ import annotations

import uuid

import asyncpg
from pydantic import BaseModel, ConfigDict


class LaunchUser(BaseModel):
    """The BigCommerce user a launch token speaks for (None: the JWT named none)."""

    model_config = ConfigDict(frozen=True)

    user_id: int | None
    user_email: str
    is_owner: bool


class Launch(LaunchUser):
    """A redeemed launch token, as `POST /api/v1/launches/{token}` answers it."""

    channel_id: uuid.UUID
    store_hash: str


INSERT_LAUNCH = """
INSERT INTO launch_tokens (token_sha256, channel_id, user_id, user_email, is_owner, expires_at)
VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))
"""


async def insert_launch(
    conn: asyncpg.Connection, token_sha256: bytes, channel_id: uuid.UUID, user: LaunchUser, ttl_s: float
) -> None:
    await conn.execute(
        INSERT_LAUNCH, token_sha256, channel_id, user.user_id, user.user_email, user.is_owner, ttl_s
    )


# Deleting is what makes it single-use: of two concurrent redemptions only one gets the row.
# An expired token is deleted too, and answers nothing. $2 NULL: any channel.
REDEEM = """
WITH redeemed AS (
    DELETE FROM launch_tokens
     WHERE token_sha256 = $1 AND ($2::uuid IS NULL OR channel_id = $2)
    RETURNING channel_id, user_id, user_email, is_owner, expires_at
)
SELECT r.channel_id, c.store_hash, r.user_id, r.user_email, r.is_owner
  FROM redeemed r JOIN channels c ON c.id = r.channel_id
 WHERE r.expires_at > now()
"""


async def redeem_launch(
    conn: asyncpg.Connection | asyncpg.Pool, token_sha256: bytes, channel_id: uuid.UUID | None = None
) -> Launch | None:
    """Use a launch token up (of `channel_id` only, when given); None when used, expired or unknown."""
    record = await conn.fetchrow(REDEEM, token_sha256, channel_id)
    return Launch.model_validate(dict(record)) if record else None


DELETE_USER_LAUNCHES = "DELETE FROM launch_tokens WHERE channel_id = $1 AND user_id = $2"


async def delete_user_launches(conn: asyncpg.Connection, channel_id: uuid.UUID, user_id: int) -> None:
    """A user removed from the app can no longer use a launch token issued to them."""
    await conn.execute(DELETE_USER_LAUNCHES, channel_id, user_id)


PURGE_EXPIRED = "DELETE FROM launch_tokens WHERE expires_at < now()"


async def purge_expired_launches(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    result: str = await conn.execute(PURGE_EXPIRED)
    return int(result.rsplit(" ", 1)[-1])
