"""The channel as the internal API and the settings page show it, and the settings they accept."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from common.db.channels import Channel, ChannelStatus, DespatchedOrderStatus
from common.db.despatches import DespatchState
from common.redaction import RedactedText
from common.text import refuse_control_characters
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    field_validator,
)

from auth_gateway.db.channel_writes import SettingsChange

# BigCommerce's order statuses (reference §4.3) without 0, Incomplete: those are abandoned
# checkouts, never orders to ship.
ORDER_STATUS_IDS = range(1, 15)

# May be empty: the guide's required fields only gate activation (and an active channel keeps them).
# Control characters are refused on the raw value, before stripping could hide one (CONTRACT §4).
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=100),
    BeforeValidator(refuse_control_characters),
]


class ChannelView(BaseModel):
    """A channel's fields (CONTRACT §4)."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    channel: Literal["BigCommerce"] = "BigCommerce"
    store_hash: str
    store_name: str
    trading_name: str
    country: str
    username: str
    connection_expires: None = Field(
        default=None, description="Always null: BigCommerce tokens do not expire."
    )
    status: ChannelStatus
    mark_orders_as_despatched: bool
    order_status_ids: list[int]
    despatched_order_status: DespatchedOrderStatus
    last_download_at: datetime | None
    next_download_at: datetime | None
    last_writeback_at: datetime | None
    pending_despatches: int
    last_error: RedactedText = Field(description="Every current problem in one line; null when healthy.")
    last_download_error: RedactedText = Field(description="The last poll's error; null after a clean poll.")
    last_writeback_error: RedactedText = Field(
        description="The last flush's error; null after a clean flush."
    )
    reconnectable: bool = Field(
        default=False,
        description=(
            "True for a channel disconnected by 'Disconnect Store': its grant was kept, so activate "
            "reconnects it at once. False after an uninstall: the app must be installed again."
        ),
    )

    @classmethod
    def build(cls, channel: Channel, pending_despatches: int, *, reconnectable: bool = False) -> ChannelView:
        return cls(
            **channel.model_dump(
                include={
                    "id",
                    "store_hash",
                    "store_name",
                    "trading_name",
                    "country",
                    "username",
                    "status",
                    "mark_orders_as_despatched",
                    "order_status_ids",
                    "despatched_order_status",
                    "last_download_at",
                    "next_download_at",
                    "last_writeback_at",
                    "last_download_error",
                    "last_writeback_error",
                }
            ),
            pending_despatches=pending_despatches,
            last_error=channel.sync_error,
            reconnectable=reconnectable,
        )


class ChannelSettings(BaseModel):
    """The settings a merchant may change; every field optional, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trading_name: Name | None = None
    store_name: Name | None = None
    mark_orders_as_despatched: StrictBool | None = None
    order_status_ids: list[StrictInt] | None = Field(
        default=None,
        min_length=1,
        max_length=len(ORDER_STATUS_IDS),
        description="BigCommerce order status ids (1-14) whose orders are downloaded.",
    )
    despatched_order_status: DespatchedOrderStatus | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # null would read as "leave unchanged", which is not what a client sending it meant
        if value is None:
            raise ValueError("may not be null")
        return value

    @field_validator("order_status_ids")
    @classmethod
    def _known_distinct_statuses(cls, value: list[int] | None) -> list[int] | None:
        if value is None:
            return None
        unknown = [v for v in value if v not in ORDER_STATUS_IDS]
        if unknown:
            raise ValueError(f"unknown BigCommerce order status ids {unknown}; use 1 to 14")
        if len(set(value)) != len(value):
            raise ValueError("each status id may appear once")
        return value  # in the caller's order: what is written is what is read back

    def to_change(self) -> SettingsChange:
        return SettingsChange(**self.model_dump(exclude_none=True))

    def is_empty(self) -> bool:
        return not self.model_dump(exclude_none=True)


class DespatchListFilter(BaseModel):
    """Accepted values of the despatch list filter."""

    state: DespatchState = "failed"
