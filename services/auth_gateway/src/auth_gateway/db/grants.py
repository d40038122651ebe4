"""Storing an OAuth grant on a store's channel: one row per store, created on first install."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
from common.db.channels import ChannelStatus
from pydantic import BaseModel, ConfigDict


class GrantRecord(BaseModel):
    """What an auth callback stores: the encrypted token, its scope, who installed, store facts."""

    model_config = ConfigDict(frozen=True)

    access_token_encrypted: bytes
    scope: str
    account_uuid: str | None
    username: str
    owner_id: int | None
    owner_email: str | None
    store_name: str
    country: str
    weight_units: str
    plan_name: str


class LockedChannel(BaseModel):
    """A channel row locked for the rest of the transaction, as it was before the grant."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    status: ChannelStatus
    created: bool
    activated_at: datetime | None
    has_webhook_secret: bool


# A concurrent first install of the same store meets the unique store_hash and then waits on the lock.
INSERT_IF_MISSING = """
INSERT INTO channels (id, store_hash, status) VALUES ($1, $2, 'pending')
ON CONFLICT (store_hash) DO NOTHING
RETURNING id
"""
LOCK_BY_STORE = """
SELECT id, status, activated_at, webhook_secret_sha256 IS NOT NULL AS has_webhook_secret
  FROM channels WHERE store_hash = $1 FOR UPDATE
"""


async def lock_or_create_channel(conn: asyncpg.Connection, store_hash: str) -> LockedChannel:
    """The store's channel, created `pending` if it has none, locked until the transaction ends."""
    created_id = await conn.fetchval(INSERT_IF_MISSING, uuid.uuid4(), store_hash)
    record = await conn.fetchrow(LOCK_BY_STORE, store_hash)
    assert record is not None  # inserted or already there, and rows are only deleted under this lock
    return LockedChannel(created=created_id is not None, **dict(record))


# A new token is a new grant generation: pollers and writers holding the old one stop.
# Settings (names, despatch options, statuses) are the merchant's and survive a reinstall; the
# store name is only filled in while it is still empty. Country, units and plan follow the store,
# unless the store could not be read this time (empty): then the last known values stay.
STORE_GRANT = """
UPDATE channels
   SET access_token_encrypted = $2, scope = $3, account_uuid = $4, username = $5,
       owner_id = $6, owner_email = $7,
       store_name = CASE WHEN store_name = '' THEN $8 ELSE store_name END,
       country = COALESCE(NULLIF($9, ''), country),
       weight_units = COALESCE(NULLIF($10, ''), weight_units),
       plan_name = COALESCE(NULLIF($11, ''), plan_name),
       status = $12, last_error = NULL, connected_at = now(), disconnected_at = NULL,
       grant_generation = grant_generation + 1, updated_at = now()
 WHERE id = $1
"""


async def store_grant(
    conn: asyncpg.Connection, channel_id: uuid.UUID, grant: GrantRecord, status: ChannelStatus
) -> None:
    await conn.execute(
        STORE_GRANT,
        channel_id,
        grant.access_token_encrypted,
        grant.scope,
        grant.account_uuid,
        grant.username,
        grant.owner_id,
        grant.owner_email,
        grant.store_name,
        grant.country,
        grant.weight_units,
        grant.plan_name,
        status,
    )


STORE_WEBHOOK_HEADER = """
UPDATE channels SET webhook_secret_encrypted = $2, webhook_secret_sha256 = $3, updated_at = now()
 WHERE id = $1
"""


async def set_webhook_secret(
    conn: asyncpg.Connection | asyncpg.Pool, channel_id: uuid.UUID, encrypted: bytes, sha256: bytes
) -> None:
    await conn.execute(STORE_WEBHOOK_HEADER, channel_id, encrypted, sha256)


# Only an active channel can lose its grant this way; a pending one was never usable.
REQUIRE_REAUTHORIZATION = """
UPDATE channels SET status = 'reauthorization_required', last_error = $2, updated_at = now()
 WHERE store_hash = $1 AND status = 'active'
"""


async def require_reauthorization(conn: asyncpg.Connection, store_hash: str, reason: str) -> bool:
    """A new grant replaced the old token but cannot be used: the channel stops until reinstalled."""
    result: str = await conn.execute(REQUIRE_REAUTHORIZATION, store_hash, reason)
    return result.endswith(" 1")
