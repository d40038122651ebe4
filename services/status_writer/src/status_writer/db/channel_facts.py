"""What the ingest checks of a despatch's channel: which store it owns, its state, the toggle."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

SELECT_CHANNELS = """
SELECT id, store_hash, status, mark_orders_as_despatched FROM channels WHERE id = ANY($1::uuid[])
"""


@dataclass(frozen=True)
class ChannelFacts:
    store_hash: str
    status: str
    mark_orders_as_despatched: bool


async def channel_facts(conn: asyncpg.Connection, ids: set[uuid.UUID]) -> dict[uuid.UUID, ChannelFacts]:
    """The facts of each of the channels `ids` that exists."""
    if not ids:
        return {}
    records = await conn.fetch(SELECT_CHANNELS, list(ids))
    return {
        r["id"]: ChannelFacts(r["store_hash"], r["status"], r["mark_orders_as_despatched"]) for r in records
    }
