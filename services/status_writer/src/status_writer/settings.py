"""The status writer's settings: BigCommerce access plus its flush period, leases and concurrency (CONTRACT §2)."""

from __future__ import annotations

from common import guide
from common.settings import BigCommerceSettings, within_half_the_lease
from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import SettingsConfigDict

from status_writer.concurrency import FlushConcurrency

# a flush should be over within this share of its interval, the rest left for retries and slowness
FLUSH_TARGET_SHARE = 0.8


class WriterSettings(BigCommerceSettings):
    """Environment of `uv run status-writer`."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    http_port: int = Field(default=8082, ge=0, le=65535)
    flush_interval_seconds: float = Field(default=guide.FLUSH_INTERVAL_SECONDS, gt=0)
    # how long a store's flush keeps other replicas off it; renewed before every request
    flush_lease_seconds: float = Field(default=300.0, ge=2)
    # one order's requests, retries and waits; at most half the lease, so an order never outlasts it
    order_time_budget_seconds: float = Field(default=90.0, gt=0)
    # stores flushed at once by one replica before flush times are measured, and never fewer; it
    # grows up to the maximum when the backlog needs it (each store is still paced by its own rate limit)
    flush_concurrency: int = Field(default=8, ge=1, le=1000)
    flush_concurrency_max: int = Field(default=256, ge=1, le=1000)
    # the first retry after a transient failure waits this long, doubling up to the maximum
    retry_backoff_seconds: float = Field(default=60.0, ge=0)
    retry_backoff_max_seconds: float = Field(default=4 * 3600.0, ge=0)
    # messages per ingest transaction
    ingest_batch_size: int = Field(default=200, ge=1, le=5000)

    @field_validator("flush_concurrency_max")
    @classmethod
    def _ceiling_over_the_start(cls, value: int, info: ValidationInfo) -> int:
        start = info.data.get("flush_concurrency")
        if start is not None and value < start:
            raise ValueError(f"must be at least FLUSH_CONCURRENCY ({start})")
        return value

    def flush_concurrency_policy(self) -> FlushConcurrency:
        """The flush sizes its stores in flight to be done within 80 % of the interval."""
        return FlushConcurrency(
            initial=self.flush_concurrency,
            ceiling=self.flush_concurrency_max,
            target_s=FLUSH_TARGET_SHARE * self.flush_interval_seconds,
        )

    @field_validator("order_time_budget_seconds")
    @classmethod
    def _budget_under_the_lease(cls, value: float, info: ValidationInfo) -> float:
        return within_half_the_lease(value, info.data.get("flush_lease_seconds"), "FLUSH_LEASE_SECONDS")
