"""Prometheus counters of BigCommerce API traffic (no store_hash label: cardinality stays low)."""

from __future__ import annotations

from prometheus_client import Counter

REQUESTS = Counter(
    "bigcommerce_requests_total",
    "BigCommerce API requests by outcome; status_class is 2xx..5xx or 'error' (no response).",
    ["plan", "method", "status_class"],
)
RATE_LIMITED = Counter(
    "bigcommerce_rate_limited_total",
    "BigCommerce API responses with status 429.",
    ["plan"],
)


def status_class(status: int | None) -> str:
    """'2xx'..'5xx' for a response, 'error' for a timeout or connection failure."""
    return "error" if status is None else f"{status // 100}xx"


def count_request(*, plan: str | None, method: str, status: int | None) -> None:
    """Count one sent request; `plan` is the store's plan when the caller knows it, else ''."""
    REQUESTS.labels(plan=plan or "", method=method, status_class=status_class(status)).inc()
    if status == 429:
        RATE_LIMITED.labels(plan=plan or "").inc()
