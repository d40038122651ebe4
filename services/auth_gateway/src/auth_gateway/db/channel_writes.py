"""Channel settings and lifecycle writes the gateway owns (activation, disconnection, deletion)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
from common.db.channels import (
    CHANNEL_COLUMNS,
    Channel,
    ChannelStatus,
    DespatchedOrderStatus,
    channel_from_record,
)
from pydantic import BaseModel, ConfigDict


class SettingsChange(BaseModel):
    """The merchant's settings to write; None leaves a field as it is."""

    model_config = ConfigDict(frozen=True)

    trading_name: str | None = None
    store_name: str | None = None
    mark_orders_as_despatched: bool | None = None
    order_status_ids: list[int] | None = None
    despatched_order_status: DespatchedOrderStatus | None = None


SELECT_ALL = f"SELECT {CHANNEL_COLUMNS} FROM channels ORDER BY created_at, id"
SELECT_BY_STATUS = f"SELECT {CHANNEL_COLUMNS} FROM channels WHERE status = $1 ORDER BY created_at, id"
LOCK_CHANNEL = f"SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = $1 FOR UPDATE"


async def list_channels(
    conn: asyncpg.Connection | asyncpg.Pool, status: ChannelStatus | None = None
) -> list[Channel]:
    records = await (conn.fetch(SELECT_BY_STATUS, status) if status else conn.fetch(SELECT_ALL))
    return [channel_from_record(r) for r in records]


async def lock_channel(conn: asyncpg.Connection, channel_id: uuid.UUID) -> Channel | None:
    """The channel, locked for the rest of the transaction."""
    record = await conn.fetchrow(LOCK_CHANNEL, channel_id)
    return channel_from_record(record) if record else None


LOCK_BY_STORE = f"SELECT {CHANNEL_COLUMNS}, connected_at FROM channels WHERE store_hash = $1 FOR UPDATE"


async def lock_channel_by_store(
    conn: asyncpg.Connection, store_hash: str
) -> tuple[Channel, datetime | None] | None:
    """The store's channel and when its latest grant was stored, locked for the rest of the transaction."""
    record = await conn.fetchrow(LOCK_BY_STORE, store_hash)
    return (channel_from_record(record), record["connected_at"]) if record else None


UPDATE_SETTINGS = """
UPDATE channels
   SET trading_name = COALESCE($2, trading_name),
       store_name = COALESCE($3, store_name),
       mark_orders_as_despatched = COALESCE($4, mark_orders_as_despatched),
       order_status_ids = COALESCE($5::integer[], order_status_ids),
       despatched_order_status = COALESCE($6, despatched_order_status),
       updated_at = now()
 WHERE id = $1
"""


async def update_settings(conn: asyncpg.Connection, channel_id: uuid.UUID, change: SettingsChange) -> None:
    """Write every given field in one statement: all or nothing."""
    await conn.execute(
        UPDATE_SETTINGS,
        channel_id,
        change.trading_name,
        change.store_name,
        change.mark_orders_as_despatched,
        change.order_status_ids,
        change.despatched_order_status,
    )


# activated_at records that the channel was active once: a reconnection then resumes it.
ACTIVATE = """
UPDATE channels
   SET status = 'active', activated_at = COALESCE(activated_at, now()), last_error = NULL,
       disconnected_at = NULL, updated_at = now()
 WHERE id = $1
"""


async def mark_active(conn: asyncpg.Connection, channel_id: uuid.UUID) -> None:
    await conn.execute(ACTIVATE, channel_id)


# Polls and flushes stop on the status (they re-read it before every request); the token goes only
# when the grant is gone for good (an uninstall) or was refused. "Disconnect Store" keeps it,
# encrypted, for "Update and activate" (CONTRACT §5).
DISCONNECT = """
UPDATE channels
   SET status = 'disconnected',
       access_token_encrypted = CASE WHEN $3 THEN access_token_encrypted END,
       disconnected_at = now(), next_download_at = NULL, last_error = $2, updated_at = now()
 WHERE id = $1
"""


async def mark_disconnected(
    conn: asyncpg.Connection, channel_id: uuid.UUID, reason: str | None, *, keep_grant: bool
) -> None:
    await conn.execute(DISCONNECT, channel_id, reason, keep_grant)


# An uninstall after "Disconnect Store": BigCommerce revoked the grant that was kept.
ERASE_GRANT = """
UPDATE channels SET access_token_encrypted = NULL, last_error = $2, updated_at = now()
 WHERE id = $1 AND access_token_encrypted IS NOT NULL
"""


async def erase_grant(conn: asyncpg.Connection, channel_id: uuid.UUID, reason: str) -> bool:
    """Erase a disconnected channel's kept token; False when there was none."""
    result: str = await conn.execute(ERASE_GRANT, channel_id, reason)
    return result.endswith(" 1")


HOLDS_GRANT = "SELECT access_token_encrypted IS NOT NULL FROM channels WHERE id = $1"


async def holds_grant(conn: asyncpg.Connection | asyncpg.Pool, channel_id: uuid.UUID) -> bool:
    """Whether the channel still holds a token (an uninstall erased it)."""
    return bool(await conn.fetchval(HOLDS_GRANT, channel_id))


RECONNECTABLE = """
SELECT id FROM channels
 WHERE id = ANY($1::uuid[]) AND status = 'disconnected' AND access_token_encrypted IS NOT NULL
"""


async def reconnectable_ids(
    conn: asyncpg.Connection | asyncpg.Pool, channel_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these channels "Disconnect Store" disconnected with their grant kept."""
    return {r["id"] for r in await conn.fetch(RECONNECTABLE, channel_ids)}


DELETE_CHANNEL = "DELETE FROM channels WHERE id = $1"


async def delete_channel(conn: asyncpg.Connection, channel_id: uuid.UUID) -> bool:
    result: str = await conn.execute(DELETE_CHANNEL, channel_id)
    return result.endswith(" 1")


class WebhookTarget(BaseModel):
    """What a webhook delivery is checked against."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    status: ChannelStatus
    webhook_secret_sha256: bytes | None


SELECT_WEBHOOK_TARGET = """
SELECT id, status, webhook_secret_sha256 FROM channels WHERE store_hash = $1
"""


async def get_webhook_target(
    conn: asyncpg.Connection | asyncpg.Pool, store_hash: str
) -> WebhookTarget | None:
    record = await conn.fetchrow(SELECT_WEBHOOK_TARGET, store_hash)
    return WebhookTarget.model_validate(dict(record)) if record else None


class HookCredentials(BaseModel):
    """What registering a channel's webhook needs: its encrypted token and webhook secret."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    store_hash: str
    status: ChannelStatus
    plan_name: str | None
    access_token_encrypted: bytes | None
    grant_generation: int
    webhook_secret_encrypted: bytes | None


SELECT_HOOK_CREDENTIALS = """
SELECT id, store_hash, status, plan_name, access_token_encrypted, grant_generation, webhook_secret_encrypted
  FROM channels WHERE id = $1
"""
SELECT_ACTIVE_IDS = "SELECT id FROM channels WHERE status = 'active' ORDER BY id"


async def get_hook_credentials(
    conn: asyncpg.Connection | asyncpg.Pool, channel_id: uuid.UUID
) -> HookCredentials | None:
    record = await conn.fetchrow(SELECT_HOOK_CREDENTIALS, channel_id)
    return HookCredentials.model_validate(dict(record)) if record else None


async def list_active_channel_ids(conn: asyncpg.Connection | asyncpg.Pool) -> list[uuid.UUID]:
    return [r["id"] for r in await conn.fetch(SELECT_ACTIVE_IDS)]
