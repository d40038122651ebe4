"""The despatch aggregate as the services share it: recording, listing, retrying and counting write-backs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg
from pydantic import BaseModel, ConfigDict

from common.bigcommerce.statuses import WRITEBACK_STATUSES
from common.events import OrderDespatched
from common.redaction import RedactedText

DespatchState = Literal["pending", "posting", "written", "failed", "not_written"]


class DespatchItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    order_product_id: int
    quantity: int


class DespatchView(BaseModel):
    """One despatch and how its write-back to BigCommerce went, as the internal API shows it."""

    model_config = ConfigDict(frozen=True)

    event_id: uuid.UUID
    order_id: int
    order_address_id: int | None
    tracking_number: str | None
    service_name: str | None
    items: list[DespatchItem] | None
    state: DespatchState
    reason: RedactedText
    attempts: int
    created_at: datetime
    updated_at: datetime


def dedupe_key(event: OrderDespatched) -> str:
    """What a despatch ships (CONTRACT §5): order, consignment, items and tracking number, canonically ordered."""
    consignment = "*" if event.order_address_id is None else str(event.order_address_id)
    if event.items is None:
        items = "*"
    else:
        items = ",".join(
            f"{i.order_product_id}x{i.quantity}"
            for i in sorted(event.items, key=lambda i: i.order_product_id)
        )
    tracking = (event.tracking_number or "").upper()
    return f"{event.order_id}|{consignment}|{items}|{tracking}"


@dataclass(frozen=True)
class NewDespatch:
    """A despatch to record, with the state it starts in."""

    event: OrderDespatched
    state: Literal["pending", "not_written"] = "pending"
    reason: str | None = None


# One statement per batch: ingest keeps up with the broker. ON CONFLICT covers both the event_id
# and the (store, what it ships) keys, also between two rows of the same batch.
INSERT_DESPATCHES = """
INSERT INTO despatches (
    event_id, channel_id, store_hash, order_id, order_address_id, items, tracking_number, carrier,
    service_name, despatched_at, dedupe_key, state, reason
)
SELECT t.event_id, t.channel_id, t.store_hash, t.order_id, t.order_address_id, t.items::jsonb,
       t.tracking_number, t.carrier, t.service_name, t.despatched_at, t.dedupe_key, t.state, t.reason
  FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::text[],
              $8::text[], $9::text[], $10::timestamptz[], $11::text[], $12::text[], $13::text[])
       WITH ORDINALITY AS t(event_id, channel_id, store_hash, order_id, order_address_id, items,
                            tracking_number, carrier, service_name, despatched_at, dedupe_key,
                            state, reason, position)
 ORDER BY t.position
ON CONFLICT DO NOTHING
RETURNING event_id
"""


async def record_despatches(conn: asyncpg.Connection, despatches: Sequence[NewDespatch]) -> set[uuid.UUID]:
    """Store despatches; returns the event_ids stored (the others repeat one already stored)."""
    if not despatches:
        return set()
    events = [d.event for d in despatches]
    records = await conn.fetch(
        INSERT_DESPATCHES,
        [e.event_id for e in events],
        [e.channel_id for e in events],
        [e.store_hash for e in events],
        [e.order_id for e in events],
        [e.order_address_id for e in events],
        [None if e.items is None else json.dumps([i.model_dump() for i in e.items]) for e in events],
        [e.tracking_number for e in events],
        [e.carrier for e in events],
        [e.service_name for e in events],
        [e.despatched_at for e in events],
        [dedupe_key(e) for e in events],
        [d.state for d in despatches],
        [d.reason for d in despatches],
    )
    return {r["event_id"] for r in records}


async def record_despatch(
    conn: asyncpg.Connection,
    event: OrderDespatched,
    *,
    state: Literal["pending", "not_written"] = "pending",
    reason: str | None = None,
) -> bool:
    """Store one despatch; False when it is a repeat (same event_id, or the same shipment under another)."""
    stored = await record_despatches(conn, [NewDespatch(event, state, reason)])
    return event.event_id in stored


SELECT_DESPATCHES = """
SELECT event_id, order_id, order_address_id, tracking_number, service_name, items, state, reason,
       attempts, created_at, updated_at
  FROM despatches
 WHERE channel_id = $1 AND state = $2
 ORDER BY created_at DESC, id DESC
 LIMIT $3
"""


async def list_despatches(
    conn: asyncpg.Connection | asyncpg.Pool, channel_id: uuid.UUID, state: str, *, limit: int = 500
) -> list[DespatchView]:
    """A channel's despatches in one state, newest first (an unknown state lists nothing)."""
    records = await conn.fetch(SELECT_DESPATCHES, channel_id, state, limit)
    return [DespatchView.model_validate(dict(r)) for r in records]


RETRY_DESPATCH = """
UPDATE despatches
   SET state = 'pending', reason = NULL, attempts = 0, next_attempt_at = now(), updated_at = now()
 WHERE channel_id = $1 AND order_id = $2 AND state = 'failed'
"""


async def retry_despatch(
    conn: asyncpg.Connection | asyncpg.Pool, channel_id: uuid.UUID, order_id: int
) -> int:
    """Queue an order's failed despatches again for the next flush; returns how many were queued."""
    result: str = await conn.execute(RETRY_DESPATCH, channel_id, order_id)
    return int(result.rsplit(" ", 1)[-1])


COUNT_PENDING = """
SELECT count(*) FROM despatches WHERE channel_id = $1 AND state IN ('pending', 'posting')
"""


async def count_pending_despatches(conn: asyncpg.Connection | asyncpg.Pool, channel_id: uuid.UUID) -> int:
    """Despatches received and not yet written back (including one whose request is in flight)."""
    count: int = await conn.fetchval(COUNT_PENDING, channel_id)
    return count


COUNT_PENDING_BY_CHANNEL = """
SELECT channel_id, count(*) FROM despatches
 WHERE channel_id = ANY($1::uuid[]) AND state IN ('pending', 'posting')
 GROUP BY channel_id
"""


async def count_pending_by_channel(
    conn: asyncpg.Connection | asyncpg.Pool, channel_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """`count_pending_despatches` of several channels in one query; a channel with none is absent."""
    if not channel_ids:
        return {}
    return {
        r["channel_id"]: r["count"] for r in await conn.fetch(COUNT_PENDING_BY_CHANNEL, list(channel_ids))
    }


# -- the connector's own write-back, as BigCommerce shows it ---------------------------------------

# A despatch (row `p`) the connector wrote or is writing: queued, mid-POST or written, or one that
# failed after some of its shipments were created. Other `failed` and `not_written` ones changed
# nothing in BigCommerce.
OWN_DESPATCH = "(p.state IN ('pending', 'posting', 'written') OR cardinality(p.shipment_ids) > 0)"


def is_own_writeback(new_status_id: int, *, has_despatch: bool) -> bool:
    """Was this status move the connector's own write-back (it then starts no download, no OrderChanged)?

    A shipment POST moves an order to Partially Shipped or Shipped, the status PUT to the channel's
    despatched status (WRITEBACK_STATUSES); so a move there of an order with a despatch the connector
    wrote or is writing is taken as ours. A merchant who ships such an order by hand meanwhile is
    taken as us too: Click & Drop despatched it already.
    """
    return has_despatch and new_status_id in WRITEBACK_STATUSES


# despatches_channel_order_idx
SELECT_ORDERS_WITH_DESPATCH = f"""
SELECT DISTINCT p.order_id FROM despatches p
 WHERE p.channel_id = $1 AND p.order_id = ANY($2::bigint[]) AND {OWN_DESPATCH}
"""


async def orders_with_own_despatch(
    conn: asyncpg.Connection | asyncpg.Pool, channel_id: uuid.UUID, order_ids: Sequence[int]
) -> frozenset[int]:
    """Which of a channel's `order_ids` have a despatch the connector wrote or is writing (one query)."""
    if not order_ids:
        return frozenset()
    rows = await conn.fetch(SELECT_ORDERS_WITH_DESPATCH, channel_id, list(order_ids))
    return frozenset(row["order_id"] for row in rows)
