"""Prometheus metrics of the status writer: despatches in and out, flush duration, API cost per despatch."""

from __future__ import annotations

from common.bigcommerce.metrics import REQUESTS
from prometheus_client import Counter, Gauge, Histogram

DESPATCHES_RECEIVED = Counter(
    "status_writer_despatches_received_total",
    "OrderDespatched messages handled, by outcome (recorded, duplicate, not_written, rejected).",
    ["outcome"],
)
DESPATCHES_REJECTED = Counter(
    "status_writer_despatches_rejected_total",
    "OrderDespatched messages dead-lettered, by reason.",
    ["reason"],
)
DESPATCHES_WRITTEN = Counter(
    "status_writer_despatches_written_total", "Despatches written back to BigCommerce."
)
DESPATCHES_FAILED = Counter(
    "status_writer_despatches_failed_total",
    "Despatches BigCommerce refused for good, by reason.",
    ["reason"],
)
DESPATCHES_DEFERRED = Counter(
    "status_writer_despatches_deferred_total",
    "Despatches kept pending for a later flush, by reason.",
    ["reason"],
)
FLUSH_DURATION = Histogram(
    "status_writer_flush_duration_seconds",
    "Duration of one flush over every due store.",
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800),
)
FLUSH_STORES_IN_FLIGHT = Gauge(
    "status_writer_flush_stores_in_flight",
    "Stores this replica is flushing now (sized from measured flush times and the backlog).",
)
REQUESTS_PER_WRITTEN = Gauge(
    "status_writer_requests_per_written_despatch",
    "BigCommerce requests per despatch written in the last flush that wrote any.",
)


def bigcommerce_requests_sent() -> float:
    """Every BigCommerce request this process has sent so far (all outcomes, retries included)."""
    total = 0.0
    for metric in REQUESTS.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                total += sample.value
    return total
