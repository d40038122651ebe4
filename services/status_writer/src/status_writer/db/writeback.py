"""The flush's reads and state moves of despatches, and the channel's write-back health."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg
from common.db.despatches import DespatchItem
from common.db.leases import lease_is_held
from common.redaction import redact_optional
from pydantic import BaseModel, ConfigDict


class FlushChannel(BaseModel):
    """What a store flush needs of its channel, re-read from the database before each flush."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    store_hash: str
    status: str
    mark_orders_as_despatched: bool
    despatched_order_status: Literal["completed", "shipped"]
    access_token_encrypted: bytes | None
    # which grant the token is (ciphertexts change when keys rotate; this does not)
    grant_generation: int
    plan_name: str | None


SELECT_FLUSH_CHANNEL = """
SELECT id, store_hash, status, mark_orders_as_despatched, despatched_order_status,
       access_token_encrypted, grant_generation, plan_name
  FROM channels WHERE id = $1
"""


async def load_flush_channel(
    conn: asyncpg.Connection | asyncpg.Pool, channel_id: uuid.UUID
) -> FlushChannel | None:
    record = await conn.fetchrow(SELECT_FLUSH_CHANNEL, channel_id)
    return FlushChannel.model_validate(dict(record)) if record else None


class DueDespatch(BaseModel):
    """A despatch still to be written: pending, or posting (a request may have reached BigCommerce)."""

    model_config = ConfigDict(frozen=True)

    id: int
    order_id: int
    order_address_id: int | None
    items: list[DespatchItem] | None
    tracking_number: str | None
    service_name: str | None
    state: Literal["pending", "posting"]
    request: list[dict[str, Any]] | None
    attempts: int


SELECT_DUE_DESPATCHES = """
SELECT id, order_id, order_address_id, items, tracking_number, service_name, state, request, attempts
  FROM despatches
 WHERE channel_id = $1 AND state IN ('pending', 'posting') AND next_attempt_at <= $2
 ORDER BY order_id, id
 LIMIT $3
"""


async def load_due_despatches(
    conn: asyncpg.Connection | asyncpg.Pool, channel_id: uuid.UUID, now: datetime, limit: int
) -> list[DueDespatch]:
    """A store's despatches due at `now`, grouped by order (ordered by order, then arrival)."""
    records = await conn.fetch(SELECT_DUE_DESPATCHES, channel_id, now, limit)
    return [DueDespatch.model_validate(dict(r)) for r in records]


# Fenced: only while the flush's lease still holds, in the same statement (common.leases).
MARK_POSTING = f"""
UPDATE despatches d SET state = 'posting', request = r.request::jsonb, updated_at = now()
  FROM unnest($1::bigint[], $2::text[]) AS r(id, request)
 WHERE d.id = r.id AND d.state IN ('pending', 'posting') AND {lease_is_held(3, 4)}
"""


async def mark_posting(
    conn: asyncpg.Connection | asyncpg.Pool,
    requests: Mapping[int, list[dict[str, Any]]],
    *,
    fence: tuple[int, datetime | None],
) -> bool:
    """Record the exact requests about to be sent, before sending them (the crash-safety marker).

    False, with nothing recorded, when the lease of `fence` no longer holds: then nothing may be sent.
    """
    token, now = fence
    # JSON text per row: a list of bodies would otherwise read as one more array dimension
    bodies = [json.dumps(body) for body in requests.values()]
    result: str = await conn.execute(MARK_POSTING, list(requests), bodies, token, now)
    return int(result.rsplit(" ", 1)[-1]) == len(requests)


@dataclass(frozen=True)
class Settlement:
    """The outcome of one attempt at a despatch.

    `posting` keeps the recorded request (it may have reached BigCommerce and is reconciled next
    time); `pending` forgets it; the other states are final until a merchant retries.
    """

    despatch_id: int
    state: Literal["pending", "posting", "written", "failed", "not_written"]
    reason: str | None = None
    shipment_ids: tuple[int, ...] = ()
    next_attempt_at: datetime | None = None
    # False when the recorded request is not what `shipment_ids` created (written because the
    # parcel was found in BigCommerce): forgotten, so no later plan counts its items as ours
    keep_request: bool = True


SETTLE = f"""
UPDATE despatches d
   SET state = s.state,
       reason = s.reason,
       attempts = d.attempts + 1,
       shipment_ids = CASE WHEN s.state = 'written' THEN s.shipment_ids::bigint[] ELSE d.shipment_ids END,
       request = CASE WHEN s.state = 'pending' OR NOT s.keep_request THEN NULL ELSE d.request END,
       next_attempt_at = COALESCE(s.next_attempt_at, d.next_attempt_at),
       written_at = CASE WHEN s.state = 'written' THEN now() ELSE d.written_at END,
       updated_at = now()
  FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::boolean[])
       AS s(id, state, reason, shipment_ids, next_attempt_at, keep_request)
 WHERE d.id = s.id AND d.state IN ('pending', 'posting') AND {lease_is_held(7, 8)}
"""


async def settle(
    conn: asyncpg.Connection | asyncpg.Pool,
    settlements: Sequence[Settlement],
    *,
    fence: tuple[int, datetime | None],
) -> int:
    """Record attempt outcomes in one statement; only despatches still to be written move.

    Fenced like `mark_posting`: a flush that lost its lease records nothing (what it sent stays
    'posting' and the next holder reconciles it). Returns how many despatches moved.
    """
    if not settlements:
        return 0
    token, now = fence
    result: str = await conn.execute(
        SETTLE,
        [s.despatch_id for s in settlements],
        [s.state for s in settlements],
        [redact_optional(s.reason) for s in settlements],
        ["{" + ",".join(str(i) for i in s.shipment_ids) + "}" for s in settlements],
        [s.next_attempt_at for s in settlements],
        [s.keep_request for s in settlements],
        token,
        now,
    )
    return int(result.rsplit(" ", 1)[-1])


SWEEP_TOGGLED_OFF = """
UPDATE despatches d
   SET state = 'not_written', reason = $1, updated_at = now()
  FROM channels c
 WHERE c.id = d.channel_id AND NOT c.mark_orders_as_despatched AND d.state = 'pending'
"""

TOGGLED_OFF_REASON = "'Mark orders as despatched' is off for this channel"


async def sweep_toggled_off(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    """Stop keeping despatches pending for channels that no longer mark orders as despatched.

    A 'posting' despatch is left alone: its request may have reached BigCommerce, and only a
    flush with the setting back on may reconcile it.
    """
    result: str = await conn.execute(SWEEP_TOGGLED_OFF, TOGGLED_OFF_REASON)
    return int(result.rsplit(" ", 1)[-1])


RECORD_HEALTH = """
UPDATE channels
   SET last_writeback_at = CASE WHEN $2 THEN now() ELSE last_writeback_at END,
       last_writeback_error = $3,
       updated_at = now()
 WHERE id = $1
"""


async def record_writeback_health(
    conn: asyncpg.Connection | asyncpg.Pool, channel_id: uuid.UUID, *, completed: bool, error: str | None
) -> None:
    """Sync health after a store flush: when it last completed, and its error (cleared once it works)."""
    await conn.execute(RECORD_HEALTH, channel_id, completed, redact_optional(error))
