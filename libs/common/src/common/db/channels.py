"""The channel aggregate as the services share it: reads, status moves and sync health."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import asyncpg
from pydantic import BaseModel, ConfigDict

ChannelStatus = Literal["pending", "active", "reauthorization_required", "disconnected"]
DespatchedOrderStatus = Literal["completed", "shipped"]


class Channel(BaseModel):
    """A BigCommerce store connected to Click & Drop, without its token."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    store_hash: str
    status: ChannelStatus
    store_name: str
    trading_name: str
    country: str
    username: str
    mark_orders_as_despatched: bool
    order_status_ids: list[int]
    despatched_order_status: DespatchedOrderStatus
    scope: str
    weight_units: str | None
    plan_name: str | None
    last_download_at: datetime | None
    next_download_at: datetime | None
    last_writeback_at: datetime | None
    # the channel's own trouble (a refused token), then each direction's last error
    last_error: str | None
    last_download_error: str | None
    last_writeback_error: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def sync_error(self) -> str | None:
        """Every current problem of the channel in one line (CONTRACT §4's `last_error`), None when healthy.

        A clean poll clears only the download error and a clean flush only the write-back error,
        so neither hides the other.
        """
        parts = [
            self.last_error,
            self.last_download_error and f"Download: {self.last_download_error}",
            self.last_writeback_error and f"Write-back: {self.last_writeback_error}",
        ]
        return "; ".join(p for p in parts if p) or None


CHANNEL_COLUMNS = """
    id, store_hash, status, store_name, trading_name, country, username,
    mark_orders_as_despatched, order_status_ids, despatched_order_status, scope,
    weight_units, plan_name, last_download_at, next_download_at, last_writeback_at,
    last_error, last_download_error, last_writeback_error, created_at, updated_at
"""

SELECT_CHANNEL = f"SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = $1"
SELECT_CHANNEL_BY_STORE = f"SELECT {CHANNEL_COLUMNS} FROM channels WHERE store_hash = $1"


def channel_from_record(record: asyncpg.Record) -> Channel:
    return Channel.model_validate(dict(record))


async def get_channel(conn: asyncpg.Connection | asyncpg.Pool, channel_id: uuid.UUID) -> Channel | None:
    record = await conn.fetchrow(SELECT_CHANNEL, channel_id)
    return channel_from_record(record) if record else None


async def get_channel_by_store(conn: asyncpg.Connection | asyncpg.Pool, store_hash: str) -> Channel | None:
    record = await conn.fetchrow(SELECT_CHANNEL_BY_STORE, store_hash)
    return channel_from_record(record) if record else None


# Only a grant that is still the one in use may be flagged: a reinstall that raced the 401
# has already stored a new token (a new generation), and must stay active. The generation, not
# the ciphertext, says which grant: re-encrypting under a new key changes the ciphertext only.
MARK_REAUTHORIZATION_REQUIRED = """
UPDATE channels
   SET status = 'reauthorization_required', last_error = $3, updated_at = now()
 WHERE id = $1 AND status = 'active' AND grant_generation = $2
"""


async def mark_reauthorization_required(
    conn: asyncpg.Connection | asyncpg.Pool,
    channel_id: uuid.UUID,
    grant_generation: int,
    reason: str = "BigCommerce refused the stored token (401); reinstall the app to reconnect",
) -> bool:
    """Flag a channel whose token (of this grant generation) BigCommerce refused; True when changed."""
    result: str = await conn.execute(MARK_REAUTHORIZATION_REQUIRED, channel_id, grant_generation, reason)
    return result.endswith(" 1")


POLL_REQUESTED_CHANNEL = "connector_poll_requested"
REQUEST_DOWNLOAD = """
UPDATE channels SET next_download_at = now(), updated_at = now()
 WHERE id = $1 AND status = 'active'
"""


async def request_download(conn: asyncpg.Connection | asyncpg.Pool, channel_id: uuid.UUID) -> bool:
    """Ask the pollers to download this channel now (webhook, sync request, activation).

    The due time is the durable request; the NOTIFY only wakes an idle poller early.
    Returns False when the channel is not active.
    """
    result: str = await conn.execute(REQUEST_DOWNLOAD, channel_id)
    if not result.endswith(" 1"):
        return False
    await conn.execute("SELECT pg_notify($1, $2)", POLL_REQUESTED_CHANNEL, str(channel_id))
    return True
