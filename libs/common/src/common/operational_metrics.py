"""Gauges the alerts in deploy/k8s/monitoring read, refreshed from the database and broker on each scrape.

Computed when Prometheus asks (`Health.refreshers`), so their age is the scrape interval and no
timer runs for them. Low cardinality: no store or channel label.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, get_args

from prometheus_client import Gauge

from common.amqp import queue_depth
from common.db.channels import ChannelStatus
from common.db.operational import (
    count_channels_by_status,
    count_overdue_stores,
    oldest_pending_despatch_age_s,
)
from common.health import MetricsRefresh

if TYPE_CHECKING:
    import asyncpg
    from aio_pika.abc import AbstractRobustConnection

CHANNELS = Gauge("connector_channels", "Channels by status (read from the database at scrape)", ["status"])
STORES_OVERDUE = Gauge(
    "order_poller_stores_overdue",
    "Active stores not downloaded cleanly for more than three poll intervals (POLL_INTERVAL_MAX_SECONDS)",
)
OLDEST_PENDING_DESPATCH = Gauge(
    "status_writer_oldest_pending_despatch_seconds",
    "Age of the oldest despatch still to be written to an active store (0 when none)",
)
FLUSH_INTERVAL = Gauge("status_writer_flush_interval_seconds", "FLUSH_INTERVAL_SECONDS of this writer")
DEAD_LETTERS = Gauge("amqp_dead_letter_messages", "Messages waiting in a dead-letter queue", ["queue"])

OVERDUE_POLL_INTERVALS = 3


def channel_statuses(pool: asyncpg.Pool) -> MetricsRefresh:
    """Refresh `connector_channels{status}`, every status present (0 included) so alerts see it."""

    async def refresh() -> None:
        counts = await count_channels_by_status(pool)
        for status in get_args(ChannelStatus):
            CHANNELS.labels(status).set(counts.get(status, 0))

    return refresh


def overdue_stores(pool: asyncpg.Pool, poll_interval_max_s: float) -> MetricsRefresh:
    """Refresh `order_poller_stores_overdue` (threshold: three of the longest poll interval)."""

    async def refresh() -> None:
        STORES_OVERDUE.set(await count_overdue_stores(pool, OVERDUE_POLL_INTERVALS * poll_interval_max_s))

    return refresh


def pending_despatches(pool: asyncpg.Pool, flush_interval_s: float) -> MetricsRefresh:
    """Refresh `status_writer_oldest_pending_despatch_seconds`; publishes the flush interval beside it."""
    FLUSH_INTERVAL.set(flush_interval_s)

    async def refresh() -> None:
        OLDEST_PENDING_DESPATCH.set(await oldest_pending_despatch_age_s(pool))

    return refresh


def dead_letter_depth(connection: AbstractRobustConnection, dlq: str) -> MetricsRefresh:
    """Refresh `amqp_dead_letter_messages{queue}` with a passive declare: reads, never consumes."""

    async def refresh() -> None:
        # a queue not declared yet holds nothing dead-lettered: 0
        DEAD_LETTERS.labels(dlq).set(await queue_depth(connection, dlq))

    return refresh
