"""Pydantic models of the BigCommerce resources the connector reads and writes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, field_validator

from common.text import without_nul


def _parse_bc_datetime(value: Any) -> Any:
    """RFC-2822 (what v2 sends) or ISO-8601 (v3) into an aware UTC datetime."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            parsed = datetime.fromisoformat(value)
    else:
        return value
    # "-0000" and offset-less ISO values parse naive; BigCommerce response dates are UTC.
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _empty_as_none(value: Any) -> Any:
    return None if value is None or value == "" else value


def _parse_optional_bc_datetime(value: Any) -> Any:
    # date_shipped is "" until the order has fully shipped.
    return None if value is None or value == "" else _parse_bc_datetime(value)


def _none_as_empty(value: Any) -> Any:
    # Address fields arrive as null or numbers (zip, phone) in some stores, and PHP-built
    # payloads may send false for an empty value.
    if value is None or value is False:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    # passed on unchanged except NUL, which PostgreSQL cannot store (CONTRACT §3)
    return without_nul(value) if isinstance(value, str) else value


def _optional_text(value: Any) -> Any:
    return without_nul(value) if isinstance(value, str) else value


def _none_as_zero(value: Any) -> Any:
    # Counts, ids and amounts we do not strictly need arrive as null or "" in some payloads.
    return 0 if value is None or (isinstance(value, str) and not value.strip()) else value


def _none_as_false(value: Any) -> Any:
    return False if value is None or value == "" else value


def _none_as_empty_object(value: Any) -> Any:
    # an absent address is null, [] (PHP's empty array) or {} depending on the serializer
    return {} if value is None or value == [] or value == "" else value


def _none_as_empty_list(value: Any) -> Any:
    return [] if value is None or value == "" else value


UtcDatetime = Annotated[datetime, BeforeValidator(_parse_bc_datetime)]
OptionalUtcDatetime = Annotated[datetime | None, BeforeValidator(_parse_optional_bc_datetime)]
Text = Annotated[str, BeforeValidator(_none_as_empty)]
"""Text from BigCommerce: null or false read as "", numbers as their digits, NUL removed."""
OptionalText = Annotated[str | None, BeforeValidator(_optional_text)]
Count = Annotated[int, BeforeValidator(_none_as_zero)]
"""An integer that may arrive as null, "" or a numeric string (0 for the first two)."""
Amount = Annotated[Decimal, BeforeValidator(_none_as_zero)]
"""A decimal sent as a string ("54.0000") or a number; null or "" read as 0."""
Flag = Annotated[bool, BeforeValidator(_none_as_false)]
OptionalId = Annotated[int | None, BeforeValidator(_empty_as_none)]


class _Model(BaseModel):
    # BigCommerce adds fields without notice: read what we use, ignore the rest.
    model_config = ConfigDict(extra="ignore", frozen=True)


class StoreInfo(_Model):
    """`GET /v2/store`: the store's identity, country, units and plan."""

    # the store hash; not needed by the connector, so a number or absence is tolerated
    id: Text = ""
    name: Text = ""
    domain: Text = ""
    secure_url: Text = ""
    country: Text = ""
    country_code: Text = ""
    currency: Text = ""
    weight_units: Text = ""
    dimension_units: Text = ""
    plan_name: Text = ""
    plan_level: Text = ""
    store_id: OptionalId = None


class Address(_Model):
    """A postal address as v2 orders write it (billing address and shipping addresses)."""

    first_name: Text = ""
    last_name: Text = ""
    company: Text = ""
    street_1: Text = ""
    street_2: Text = ""
    city: Text = ""
    state: Text = ""
    zip: Text = ""
    country: Text = ""
    country_iso2: Text = ""
    phone: Text = ""
    email: Text = ""


class ShippingAddress(Address):
    """`GET /v2/orders/{id}/shipping_addresses`: one consignment's address; `id` is `order_address_id`."""

    id: int
    order_id: Count = 0
    shipping_method: Text = ""
    items_total: Count = 0
    items_shipped: Count = 0


class ShippingConsignment(Address):
    """An expanded shipping consignment (`include=consignments`): one shipping address and its lines.

    `line_items` are kept as sent: the order product objects of `/products` when expanded with
    `consignments.line_items`, resource links otherwise (reference §4.6). Whether a line carries
    what an event needs is the reader's decision, so a line that lacks a field is not an error here.
    """

    id: int
    shipping_method: Text = ""
    items_total: Count = 0
    items_shipped: Count = 0
    line_items: Annotated[list[Any], BeforeValidator(_none_as_empty_list)] = Field(default_factory=list)

    def address(self) -> ShippingAddress:
        """The consignment as the shipping address it ships to (`id` is the `order_address_id`)."""
        return ShippingAddress.model_validate(self.model_dump(exclude={"line_items"}))


class Consignments(_Model):
    """An order's expanded consignments; only shipping consignments matter to the connector."""

    shipping: Annotated[list[ShippingConsignment], BeforeValidator(_none_as_empty_list)] = Field(
        default_factory=list
    )


def _expanded_consignments(value: Any) -> Any:
    # Not expanded: a resource link {"url", "resource"}. Expanded: an object, or a one-element
    # array of that object when `consignment_structure=object` is not honoured.
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict) and "resource" in value and "shipping" not in value:
        return None
    return value


class Order(_Model):
    """A v2 order: the fields the connector downloads and checks."""

    id: int
    status_id: int
    status: Text = ""
    date_created: UtcDatetime
    # absent only in minimal payloads: then the order counts as unchanged since it was created
    date_modified: OptionalUtcDatetime = None
    date_shipped: OptionalUtcDatetime = None
    order_is_digital: Flag = False
    is_deleted: Flag = False
    currency_code: Text = ""
    subtotal_inc_tax: Amount = Decimal(0)
    shipping_cost_inc_tax: Amount = Decimal(0)
    total_inc_tax: Amount = Decimal(0)
    customer_message: Text = ""
    billing_address: Annotated[Address, BeforeValidator(_none_as_empty_object)] = Field(
        default_factory=Address
    )
    items_total: Count = 0
    items_shipped: Count = 0
    shipping_address_count: Count = 0
    consignments: Annotated[Consignments | None, BeforeValidator(_expanded_consignments)] = None

    @property
    def modified_at(self) -> datetime:
        """When the order last changed: `date_modified`, else `date_created`."""
        return self.date_modified or self.date_created


class OrderProduct(_Model):
    """`GET /v2/orders/{id}/products`: an order line; `id` is the `order_product_id` of shipments."""

    id: int
    order_id: Count = 0
    # 0 for a custom product (no catalog product), like BigCommerce itself sends
    product_id: Count = 0
    # absent or null on custom products and products without variants
    variant_id: OptionalId = None
    # 0 when absent: resolved against the order's only shipping address by the callers
    order_address_id: Count = 0
    name: Text = ""
    sku: Text = ""
    type: Annotated[str, BeforeValidator(_line_type)] = "physical"
    quantity: Count
    quantity_shipped: Count = 0
    quantity_refunded: Count = 0
    price_inc_tax: Amount = Decimal(0)
    # In the store's weight_units; v2 sends it as a string or a number.
    weight: Amount = Decimal(0)
    order_pickup_method_id: Count = 0


def _line_type(value: Any) -> Any:
    # "physical" | "digital" | "giftcertificate"; a line without a type is a parcel line
    if value is None or (isinstance(value, str) and not value.strip()):
        return "physical"
    return value.strip().lower() if isinstance(value, str) else value


class ShipmentItem(_Model):
    """One line of a shipment: the order line id and the quantity shipped."""

    order_product_id: int
    product_id: OptionalId = None
    quantity: Count


class Shipment(_Model):
    """`GET|POST /v2/orders/{id}/shipments`: a shipment of some lines to one address."""

    id: int
    order_id: Count = 0
    order_address_id: Count = 0
    date_created: OptionalUtcDatetime = None
    tracking_number: Text = ""
    shipping_provider: Text = ""
    shipping_method: Text = ""
    tracking_carrier: Text = ""
    tracking_link: Text = ""
    generated_tracking_link: Text = ""
    comments: Text = ""
    # One report says list results can lack items (reference §5.3): default to none.
    items: Annotated[list[ShipmentItem], BeforeValidator(_none_as_empty_list)] = Field(default_factory=list)


class NewShipmentItem(_Model):
    """A line to ship; `product_id` must not be sent (BigCommerce answers 400)."""

    order_product_id: int
    quantity: int = Field(gt=0)


class NewShipment(_Model):
    """The body of `POST /v2/orders/{id}/shipments`; fields left as None are not sent."""

    order_address_id: int
    items: list[NewShipmentItem] = Field(min_length=1)
    tracking_number: str | None = Field(default=None, max_length=50)
    shipping_provider: str | None = None
    # "" with shipping_provider "royalmail" is the safe combination (reference §5.1).
    tracking_carrier: str | None = ""
    tracking_link: str | None = Field(default=None, max_length=500)
    shipping_method: str | None = None
    comments: str | None = Field(default=None, max_length=65535)

    def to_body(self) -> dict[str, Any]:
        """The JSON body: only the fields that are set."""
        return self.model_dump(mode="json", exclude_none=True)

    def matches(self, shipment: Shipment) -> bool:
        """Whether `shipment` is this shipment already created (same address, tracking, items)."""
        return (
            shipment.order_address_id == self.order_address_id
            and shipment.tracking_number == (self.tracking_number or "")
            and _item_counts(shipment.items) == _item_counts(self.items)
        )


def _item_counts(items: list[ShipmentItem] | list[NewShipmentItem]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for item in items:
        counts[item.order_product_id] = counts.get(item.order_product_id, 0) + item.quantity
    return counts


class Hook(_Model):
    """A v3 webhook subscription of this app on the store."""

    id: int
    scope: str
    destination: str
    is_active: bool = True
    headers: Annotated[dict[str, str], BeforeValidator(lambda v: {} if v is None else v)] = Field(
        default_factory=dict
    )


class GrantUser(_Model):
    """The user (or owner) named in a token grant."""

    id: int
    username: Text = ""
    email: Text = ""


def _split_scopes(value: Any) -> Any:
    return set(without_nul(value).split()) if isinstance(value, str) else value


_CONTEXT = re.compile(r"^stores/[A-Za-z0-9]{1,64}$")


class TokenGrant(_Model):
    """The login service's answer to a code exchange: the store's token and granted scopes."""

    access_token: SecretStr
    scope: Annotated[frozenset[str], BeforeValidator(_split_scopes)]
    user: GrantUser
    # Older real responses lack owner and account_uuid (reference §1.2).
    owner: GrantUser | None = None
    context: str
    account_uuid: OptionalText = None

    @field_validator("context")
    @classmethod
    def _context_names_a_store(cls, value: str) -> str:
        # a store hash is short and alphanumeric; anything else (a NUL, a path) is not one
        if not _CONTEXT.fullmatch(value):
            raise ValueError("context is not stores/{hash}")
        return value

    @property
    def store_hash(self) -> str:
        """The store hash from `context` ("stores/{hash}")."""
        return self.context.split("/", 1)[1]
