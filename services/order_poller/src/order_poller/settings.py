"""The order poller's settings: BigCommerce access plus its schedule, window and concurrency (CONTRACT §2)."""

from __future__ import annotations

from common import guide
from common.settings import BigCommerceSettings, within_half_the_lease
from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import SettingsConfigDict


class PollerSettings(BigCommerceSettings):
    """Environment of `uv run order-poller`."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    http_port: int = Field(default=8081, ge=0, le=65535)
    poll_interval_min_seconds: float = Field(default=guide.POLL_INTERVAL_MIN_SECONDS, gt=0)
    poll_interval_max_seconds: float = Field(default=guide.POLL_INTERVAL_MAX_SECONDS, gt=0)
    order_max_age_days: int = Field(default=guide.ORDER_MAX_AGE_DAYS, ge=1, le=365)
    # stores polled at once by one replica before poll times are measured, and never fewer; it grows
    # up to the maximum as the schedule needs (each store is still paced by its own rate limit)
    poll_concurrency: int = Field(default=8, ge=1, le=1000)
    poll_concurrency_max: int = Field(default=256, ge=1, le=1000)
    # how long a claim keeps other replicas off a store; renewed while the poll runs
    # renewed before every request, so it only needs to outlast one request and its retries;
    # short, so a replica killed mid-poll hands its stores on quickly
    poll_lease_seconds: float = Field(default=60.0, ge=2)
    # one order's requests, retries and waits; at most half the lease
    order_time_budget_seconds: float = Field(default=30.0, gt=0)

    @field_validator("poll_interval_max_seconds")
    @classmethod
    def _interval_ordered(cls, value: float, info: ValidationInfo) -> float:
        # fields validate in declaration order: the minimum is known here (unless it was invalid)
        low = info.data.get("poll_interval_min_seconds")
        if low is not None and low > value:
            raise ValueError(f"must not be below POLL_INTERVAL_MIN_SECONDS ({low:g})")
        return value

    @field_validator("poll_concurrency_max")
    @classmethod
    def _ceiling_over_the_start(cls, value: int, info: ValidationInfo) -> int:
        start = info.data.get("poll_concurrency")
        if start is not None and value < start:
            raise ValueError(f"must be at least POLL_CONCURRENCY ({start})")
        return value

    @field_validator("order_time_budget_seconds")
    @classmethod
    def _budget_under_the_lease(cls, value: float, info: ValidationInfo) -> float:
        return within_half_the_lease(value, info.data.get("poll_lease_seconds"), "POLL_LEASE_SECONDS")
