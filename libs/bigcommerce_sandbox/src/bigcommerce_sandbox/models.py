"""The sandbox's in-memory data model: stores, orders, shipments, tokens, hooks and logs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

LineType = Literal["physical", "digital", "giftcertificate"]

# BigCommerce's order statuses (reference §4.3): id -> (name, system description).
ORDER_STATUSES: dict[int, tuple[str, str]] = {
    0: (
        "Incomplete",
        "An incomplete order happens when a shopper reached the payment page, "
        "but did not complete the transaction.",
    ),
    1: ("Pending", "Customer started the checkout process, but did not complete it."),
    2: (
        "Shipped",
        "Order has been shipped, but receipt has not been confirmed; seller has used the Ship Items action.",
    ),
    3: (
        "Partially Shipped",
        "Only some items in the order have been shipped, "
        "due to some products being pre-order only or other reasons.",
    ),
    4: ("Refunded", "Seller has used the Refund action."),
    5: ("Cancelled", "Seller has cancelled an order, due to a stock inconsistency or other reasons."),
    6: ("Declined", "Seller has marked the order as declined for lack of manual payment, or other reasons."),
    7: ("Awaiting Payment", "Customer has completed checkout process, but payment has yet to be confirmed."),
    8: (
        "Awaiting Pickup",
        "Order has been pulled, and is awaiting customer pickup from a seller-specified location.",
    ),
    9: (
        "Awaiting Shipment",
        "Order has been pulled and packaged, and is awaiting collection from a shipping provider.",
    ),
    10: (
        "Completed",
        "Client has paid for their digital product, and their file(s) are available for download.",
    ),
    11: (
        "Awaiting Fulfillment",
        "Customer has completed the checkout process and payment has been confirmed.",
    ),
    12: ("Manual Verification Required", "Order on hold while some aspect needs to be manually confirmed."),
    13: (
        "Disputed",
        "Customer has initiated a dispute resolution process for the PayPal "
        "transaction that paid for the order.",
    ),
    14: ("Partially Refunded", "Seller has partially refunded the order."),
}

# Quotas per 30 s window by plan (reference §7).
PLAN_QUOTAS: dict[str, int] = {"Standard": 150, "Plus": 150, "Pro": 450, "Enterprise": 450}


@dataclass
class User:
    """A control-panel user (the owner or an authorized user)."""

    id: int
    email: str
    username: str = ""
    locale: str = "en-GB"

    def __post_init__(self) -> None:
        if not self.username:
            self.username = self.email


@dataclass
class Address:
    """A postal address as BigCommerce lays it out."""

    first_name: str
    last_name: str
    street_1: str
    city: str
    zip: str
    country: str = "United Kingdom"
    country_iso2: str = "GB"
    company: str = ""
    street_2: str = ""
    state: str = ""
    phone: str = ""
    email: str = ""


@dataclass
class ShippingAddress:
    """One shipping address (consignment) of an order; `id` is the `order_address_id`."""

    id: int
    address: Address
    shipping_method: str = "Flat Rate"
    cost_ex_tax: Decimal = Decimal("0")
    cost_inc_tax: Decimal = Decimal("0")
    shipping_zone_id: int = 1
    shipping_zone_name: str = "United Kingdom"


@dataclass
class OrderLine:
    """One order product line; `id` is the `order_product_id` shipments refer to."""

    id: int
    product_id: int
    name: str
    sku: str
    type: LineType
    quantity: int
    price_ex_tax: Decimal
    price_inc_tax: Decimal
    weight: Decimal
    order_address_id: int = 0
    variant_id: int | None = None
    quantity_shipped: int = 0
    quantity_refunded: int = 0
    order_pickup_method_id: int = 0
    options: list[dict[str, Any]] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        """Units not yet shipped."""
        return self.quantity - self.quantity_shipped


@dataclass
class ShipmentItem:
    """A shipped quantity of one order line."""

    order_product_id: int
    product_id: int
    quantity: int


@dataclass
class Shipment:
    """An order shipment (`orderShipment`)."""

    id: int
    order_id: int
    order_address_id: int
    date_created: datetime
    items: list[ShipmentItem]
    tracking_number: str = ""
    shipping_provider: str = ""
    tracking_carrier: str = ""
    tracking_link: str = ""
    shipping_method: str = ""
    merchant_shipping_cost: Decimal = Decimal("0")
    comments: str = ""


@dataclass
class Order:
    """A v2 order with its lines, shipping addresses and shipments."""

    id: int
    status_id: int
    date_created: datetime
    date_modified: datetime
    billing_address: Address
    lines: list[OrderLine]
    addresses: list[ShippingAddress]
    customer_id: int = 0
    date_shipped: datetime | None = None
    shipments: list[Shipment] = field(default_factory=list)
    currency_code: str = "GBP"
    customer_message: str = ""
    staff_notes: str = ""
    is_deleted: bool = False
    payment_method: str = "Credit Card"
    payment_status: str = "captured"
    channel_id: int = 1
    order_source: str = "www"
    external_source: str = ""
    external_id: str = ""
    external_order_id: str = ""
    cart_id: str = ""
    geoip_country_iso2: str = "GB"
    customer_locale: str = "en-GB"
    # fields this order's consignment line items lack, as one report says a store may send them
    # (reference §4.6): e.g. ("weight",); /products always carries every field
    consignment_line_gaps: tuple[str, ...] = ()

    @property
    def shipping_cost_ex_tax(self) -> Decimal:
        return sum((a.cost_ex_tax for a in self.addresses), Decimal("0"))

    @property
    def shipping_cost_inc_tax(self) -> Decimal:
        return sum((a.cost_inc_tax for a in self.addresses), Decimal("0"))

    @property
    def subtotal_ex_tax(self) -> Decimal:
        return sum((ln.price_ex_tax * ln.quantity for ln in self.lines), Decimal("0"))

    @property
    def subtotal_inc_tax(self) -> Decimal:
        return sum((ln.price_inc_tax * ln.quantity for ln in self.lines), Decimal("0"))

    @property
    def total_ex_tax(self) -> Decimal:
        return self.subtotal_ex_tax + self.shipping_cost_ex_tax

    @property
    def total_inc_tax(self) -> Decimal:
        return self.subtotal_inc_tax + self.shipping_cost_inc_tax

    @property
    def items_total(self) -> int:
        return sum(ln.quantity for ln in self.lines)

    @property
    def items_shipped(self) -> int:
        return sum(ln.quantity_shipped for ln in self.lines)

    @property
    def order_is_digital(self) -> bool:
        return all(ln.type != "physical" for ln in self.lines)

    def line(self, line_id: int) -> OrderLine | None:
        """The line with this `order_product_id`, if any."""
        return next((ln for ln in self.lines if ln.id == line_id), None)

    def address(self, address_id: int) -> ShippingAddress | None:
        """The shipping address with this `order_address_id`, if any."""
        return next((a for a in self.addresses if a.id == address_id), None)

    def shipment(self, shipment_id: int) -> Shipment | None:
        """The shipment with this id, if any."""
        return next((s for s in self.shipments if s.id == shipment_id), None)


@dataclass
class Store:
    """A BigCommerce store and everything the sandbox keeps for it."""

    hash: str
    store_id: int
    name: str
    owner: User
    plan_name: str = "Standard"
    weight_units: str = "Grams"
    dimension_units: str = "Centimeters"
    country: str = "United Kingdom"
    country_code: str = "GB"
    currency: str = "GBP"
    currency_symbol: str = "£"
    timezone: str = "Europe/London"
    rate_quota: int = 150
    users: list[User] = field(default_factory=list)
    orders: dict[int, Order] = field(default_factory=dict)
    installed: bool = False
    next_order_id: int = 100
    next_line_id: int = 1
    next_address_id: int = 1
    next_shipment_id: int = 1

    def user(self, user_id: int) -> User | None:
        """The owner or an authorized user with this id."""
        return next((u for u in [self.owner, *self.users] if u.id == user_id), None)


@dataclass
class Token:
    """An OAuth access token for one store, with its granted scopes."""

    value: str
    store_hash: str
    client_id: str
    scopes: frozenset[str]
    revoked: bool = False


@dataclass
class AuthCode:
    """A one-time authorization code issued by the install flow."""

    code: str
    store_hash: str
    scopes: tuple[str, ...]
    user_id: int
    issued_at: float
    used: bool = False


@dataclass
class Hook:
    """A v3 webhook subscription."""

    id: int
    client_id: str
    store_hash: str
    scope: str
    destination: str
    is_active: bool
    headers: dict[str, str]
    created_at: int
    updated_at: int


@dataclass
class Delivery:
    """One webhook delivery attempt and its outcome."""

    hook_id: int
    destination: str
    scope: str
    payload: dict[str, Any]
    headers: dict[str, str]
    status: int | None
    error: str | None
    at: float


@dataclass
class RequestRecord:
    """One API request the sandbox served (status None: not answered yet, or the connection was dropped)."""

    method: str
    path: str
    query: str
    status: int | None
    at: float


@dataclass(frozen=True)
class AppConfig:
    """The registered app: credentials, callback URLs and the scopes it requests."""

    client_id: str
    client_secret: str
    auth_callback_url: str
    load_callback_url: str
    uninstall_callback_url: str = ""
    remove_user_callback_url: str = ""
    name: str = "Royal Mail Click & Drop"
    scopes: tuple[str, ...] = ("store_v2_orders", "store_v2_information_read_only")
    account_uuid: str = "5a2b7a8e-3c1d-4f0e-9b6a-2d4c8e1f0a37"

    @classmethod
    def for_base_url(cls, base_url: str, client_id: str, client_secret: str) -> AppConfig:
        """Callback URLs under the connector gateway's paths (CONTRACT §4)."""
        base = base_url.rstrip("/")
        return cls(
            client_id=client_id,
            client_secret=client_secret,
            auth_callback_url=f"{base}/bigcommerce/auth",
            load_callback_url=f"{base}/bigcommerce/load",
            uninstall_callback_url=f"{base}/bigcommerce/uninstall",
            remove_user_callback_url=f"{base}/bigcommerce/remove-user",
        )


@dataclass(frozen=True)
class CallbackCall:
    """One server-to-server call of an app callback (uninstall, remove_user)."""

    url: str
    status: int | None
    error: str | None
    at: float
