"""Prometheus metrics of the poller (BigCommerce requests and 429s by plan are counted by the client,
outbox lag by the relay)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

POLLS = Counter(
    "order_poller_polls_total",
    "Store polls by outcome (ok, failed, reauthorization_required, permissions_missing, stopped).",
    ["outcome"],
)
ORDERS_DOWNLOADED = Counter(
    "order_poller_orders_downloaded_total",
    "Orders written to the outbox as OrderDownloaded (each once).",
)
ORDERS_SKIPPED = Counter(
    "order_poller_orders_skipped_total",
    "Orders newly recorded as not downloadable, by reason.",
    ["reason"],
)
POLL_DURATION = Histogram(
    "order_poller_poll_duration_seconds",
    "Wall time of one store poll.",
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600),
)
POLLS_IN_FLIGHT = Gauge("order_poller_polls_in_flight", "Store polls running now on this replica.")
POLL_CONCURRENCY_LIMIT = Gauge(
    "order_poller_poll_concurrency_limit",
    "Stores this replica may poll at once now, sized from poll times and lateness.",
)
