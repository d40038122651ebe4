"""Ingest of `OrderDespatched` batches: validate, check the channel, store deduplicated in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import structlog
from common.consumer import Delivery, DeliveryOutcome, Rejected
from common.db.despatches import NewDespatch, record_despatches
from common.events import OrderDespatched
from pydantic import ValidationError

from status_writer.db.channel_facts import ChannelFacts, channel_facts
from status_writer.db.writeback import TOGGLED_OFF_REASON
from status_writer.metrics import DESPATCHES_RECEIVED, DESPATCHES_REJECTED

if TYPE_CHECKING:
    import asyncpg

log = structlog.get_logger(__name__)


def parse(body: bytes) -> OrderDespatched | Rejected:
    """The event, or why it can never be accepted (never quoting the body: it may hold addresses)."""
    try:
        return OrderDespatched.model_validate_json(body)
    except ValidationError as error:
        problems = error.errors(include_url=False, include_input=False)
        if any(p["type"] == "json_invalid" for p in problems):
            return Rejected("not JSON")
        if any(p["type"] == "model_type" and not p["loc"] for p in problems):
            return Rejected("schema: not a JSON object")
        details = "; ".join(
            f"{'.'.join(str(x) for x in p['loc']) or 'body'}: {p['msg']}" for p in problems[:5]
        )
        return Rejected(f"schema: {details}")


class DespatchIngestor:
    """The consumer's batch handler: one transaction per batch, one outcome per message."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def __call__(self, deliveries: Sequence[Delivery]) -> list[DeliveryOutcome]:
        parsed = [parse(d.body) for d in deliveries]
        events = [p for p in parsed if isinstance(p, OrderDespatched)]
        outcomes: list[DeliveryOutcome] = []
        to_store: list[NewDespatch] = []
        async with self._pool.acquire() as conn, conn.transaction():
            channels = await channel_facts(conn, {e.channel_id for e in events})
            for delivery, item in zip(deliveries, parsed, strict=True):
                if isinstance(item, Rejected):
                    kind = "not_json" if item.reason == "not JSON" else "schema"
                    outcomes.append(self._rejected(delivery, item, kind))
                    continue
                verdict = _check_channel(item, channels.get(item.channel_id))
                if isinstance(verdict, tuple):
                    outcomes.append(self._rejected(delivery, verdict[1], verdict[0]))
                    continue
                to_store.append(verdict)
                outcomes.append(None)
            stored = await record_despatches(conn, to_store)
        # counted and logged after the commit, so nothing is reported that was rolled back
        tally = {"recorded": 0, "duplicate": 0, "not_written": 0}
        for despatch in to_store:
            if despatch.event.event_id not in stored:
                outcome = "duplicate"
            else:
                outcome = "recorded" if despatch.state == "pending" else "not_written"
            tally[outcome] += 1
            DESPATCHES_RECEIVED.labels(outcome).inc()
        # one line per batch: per-message lines would cost more than the insert at broker speed
        log.info("despatches_ingested", rejected=len(deliveries) - len(to_store), **tally)
        return outcomes

    @staticmethod
    def _rejected(delivery: Delivery, rejected: Rejected, kind: str) -> Rejected:
        DESPATCHES_RECEIVED.labels("rejected").inc()
        DESPATCHES_REJECTED.labels(kind).inc()
        log.warning("despatch_rejected", message_id=delivery.message_id, reason=rejected.reason)
        return rejected


def _check_channel(
    event: OrderDespatched, channel: ChannelFacts | None
) -> NewDespatch | tuple[str, Rejected]:
    """Accept the event for its channel, or (kind, reason) when it belongs to none the writer may serve."""
    if channel is None:
        return "unknown_channel", Rejected(f"unknown channel {event.channel_id}")
    if channel.store_hash != event.store_hash:
        reason = f"channel {event.channel_id} does not own store {event.store_hash}"
        return "store_mismatch", Rejected(reason)
    # A disconnected channel is kept, not refused: "Update and activate" or a reinstall brings the
    # same channel back, and its despatches are written then (the flush serves active channels only).
    if not channel.mark_orders_as_despatched:
        return NewDespatch(event, "not_written", TOGGLED_OFF_REASON)
    return NewDespatch(event, "pending")
