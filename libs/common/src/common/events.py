"""Event models: the contract between the connector's services and the rest of Click & Drop (CONTRACT §3)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)

from common.text import refuse_control_characters

_CENT = Decimal("0.01")


def _utc_z(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _money(value: Decimal) -> str:
    return str(value.quantize(_CENT, rounding=ROUND_HALF_UP))


UtcTimestamp = Annotated[
    AwareDatetime,
    PlainSerializer(_utc_z, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-11-27T10:15:00Z"]}),
]
"""An aware datetime serialised as ISO-8601 UTC with `Z`."""

Money = Annotated[
    Decimal,
    PlainSerializer(_money, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["12.50"]}),
]
"""A decimal amount serialised as a decimal string with two places ("12.50")."""


StoredId = Annotated[int, Field(gt=0, le=2**63 - 1)]
"""A positive whole number that fits PostgreSQL's bigint, where ids and quantities are stored: a larger
one in a consumed event could never be stored, so the schema refuses it and the message is dead-lettered
with the reason at once, instead of failing the insert on every redelivery."""


# Published models always carry every field, defaults included: their schema says so (AsyncAPI).
_PUBLISHED = ConfigDict(frozen=True, extra="ignore", json_schema_serialization_defaults_required=True)


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class Event(BaseModel):
    """Fields every event carries."""

    model_config = _PUBLISHED

    ROUTING_KEY: ClassVar[str]

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    event_type: str
    schema_version: int = 1
    occurred_at: UtcTimestamp = Field(default_factory=utc_now)

    def to_json(self) -> bytes:
        """The UTF-8 JSON body of the message."""
        return self.model_dump_json().encode()


class ChannelEvent(Event):
    """A channel's lifecycle moved; carries its new status."""

    channel_id: uuid.UUID
    store_hash: str = Field(min_length=1)
    status: Literal["pending", "active", "reauthorization_required", "disconnected"]


class ChannelConnected(ChannelEvent):
    ROUTING_KEY: ClassVar[str] = "bigcommerce.channel.connected"
    event_type: Literal["ChannelConnected"] = "ChannelConnected"


class ChannelActivated(ChannelEvent):
    ROUTING_KEY: ClassVar[str] = "bigcommerce.channel.activated"
    event_type: Literal["ChannelActivated"] = "ChannelActivated"


class ChannelDisconnected(ChannelEvent):
    ROUTING_KEY: ClassVar[str] = "bigcommerce.channel.disconnected"
    event_type: Literal["ChannelDisconnected"] = "ChannelDisconnected"


class Address(BaseModel):
    model_config = _PUBLISHED

    first_name: str = ""
    last_name: str = ""
    company: str = ""
    street_1: str = ""
    street_2: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    country: str = ""
    country_iso2: str = ""
    phone: str = ""
    email: str = ""


class DownloadedItem(BaseModel):
    model_config = _PUBLISHED

    order_product_id: int
    product_id: int
    variant_id: int | None = None
    sku: str = ""
    name: str
    quantity: int = Field(gt=0)
    unit_price_inc_tax: Money
    weight_grams: Money


class Consignment(BaseModel):
    """One shipping address of an order with the physical lines that ship to it."""

    model_config = _PUBLISHED

    order_address_id: int
    address: Address
    shipping_method: str = ""
    items: list[DownloadedItem] = Field(min_length=1)


class DownloadedOrder(BaseModel):
    model_config = _PUBLISHED

    order_id: int
    status_id: int
    date_created: UtcTimestamp
    date_modified: UtcTimestamp
    currency_code: str
    subtotal_inc_tax: Money
    shipping_cost_inc_tax: Money
    total_inc_tax: Money
    customer_message: str = ""
    billing_address: Address
    consignments: list[Consignment] = Field(min_length=1)


class StoreOrderEvent(Event):
    """An event about one of a store's orders, naming the channel and its trading name."""

    channel_id: uuid.UUID
    store_hash: str = Field(min_length=1)
    trading_name: str


class OrderDownloaded(StoreOrderEvent):
    ROUTING_KEY: ClassVar[str] = "bigcommerce.order.downloaded"
    event_type: Literal["OrderDownloaded"] = "OrderDownloaded"

    order: DownloadedOrder


OrderChange = Literal["cancelled", "status", "address", "items"]
"""What changed in an order Click & Drop downloaded (CONTRACT §3, `OrderChanged.changes`)."""


class OrderChanged(StoreOrderEvent):
    """An order Click & Drop downloaded changed in BigCommerce before its label was printed."""

    ROUTING_KEY: ClassVar[str] = "bigcommerce.order.changed"
    event_type: Literal["OrderChanged"] = "OrderChanged"

    downloaded_event_id: uuid.UUID = Field(
        description="the event_id of the OrderDownloaded this amends (the order's one download)"
    )
    changes: list[OrderChange] = Field(
        min_length=1,
        description=(
            "cancelled: moved to Cancelled (5), Refunded (4) or Declined (6); status: any other move "
            "out of the downloaded statuses that the connector did not make; address: a consignment's "
            "address or shipping method; items: lines or quantities"
        ),
    )
    order: DownloadedOrder = Field(
        description=(
            "the order as it is now, in OrderDownloaded's shape: consignments hold the units left to "
            "ship; when none are left (refunded, shipped by hand) each consignment lists its parcel "
            "lines at the quantity ordered"
        )
    )


class DespatchedItem(BaseModel):
    # extra keys are ignored, as on the event itself: a sender that adds one (a sku) loses nothing
    model_config = ConfigDict(frozen=True, extra="ignore")

    order_product_id: StoredId
    quantity: StoredId


class OrderDespatched(Event):
    """Click & Drop despatched (part of) an order; the status writer writes it back to the store."""

    ROUTING_KEY: ClassVar[str] = "order.despatched.bigcommerce"
    event_type: Literal["OrderDespatched"] = "OrderDespatched"
    schema_version: Literal[1] = 1

    channel_id: uuid.UUID
    store_hash: str = Field(min_length=1, max_length=64)
    order_id: StoredId
    despatched_at: UtcTimestamp
    tracking_number: str | None = Field(default=None, max_length=50)
    carrier: str = "Royal Mail"
    service_name: str | None = Field(default=None, max_length=250)
    order_address_id: StoredId | None = None
    items: list[DespatchedItem] | None = None

    # Control characters are refused on the raw text, before any stripping could hide them: the
    # writer then dead-letters the message with this reason (NUL cannot be stored at all).
    @field_validator("store_hash", mode="before")
    @classmethod
    def _plain_store_hash(cls, value: Any) -> Any:
        return refuse_control_characters(value)

    @field_validator("carrier", mode="before")
    @classmethod
    def _default_carrier(cls, value: Any) -> Any:
        return "Royal Mail" if value is None else refuse_control_characters(value)

    @field_validator("tracking_number", "service_name", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        refuse_control_characters(value)
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("items")
    @classmethod
    def _distinct_lines(cls, items: list[DespatchedItem] | None) -> list[DespatchedItem] | None:
        if items is not None:
            if not items:
                raise ValueError("items must not be empty; omit it to despatch every remaining item")
            ids = [item.order_product_id for item in items]
            if len(ids) != len(set(ids)):
                raise ValueError("each order_product_id may appear once")
        return items
