"""BigCommerce API client: store API, OAuth code exchange, pacing, models and errors."""

from common.bigcommerce.client import (
    DEFAULT_TIMEOUT,
    MAX_PAGE_SIZE,
    BigCommerceClient,
    ListedOrder,
    StoreApi,
    format_filter_date,
)
from common.bigcommerce.errors import (
    BigCommerceError,
    InvalidRequest,
    MissingScope,
    NotFound,
    OAuthExchangeError,
    ReauthorizationRequired,
    Unavailable,
)
from common.bigcommerce.models import (
    Address,
    Consignments,
    GrantUser,
    Hook,
    NewShipment,
    NewShipmentItem,
    Order,
    OrderProduct,
    Shipment,
    ShipmentItem,
    ShippingAddress,
    ShippingConsignment,
    StoreInfo,
    TokenGrant,
)
from common.bigcommerce.oauth import exchange_code
from common.bigcommerce.pacing import RateLimiter, RateLimiterRegistry
from common.bigcommerce.retry import RetryPolicy

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_PAGE_SIZE",
    "Address",
    "BigCommerceClient",
    "BigCommerceError",
    "Consignments",
    "GrantUser",
    "Hook",
    "InvalidRequest",
    "ListedOrder",
    "MissingScope",
    "NewShipment",
    "NewShipmentItem",
    "NotFound",
    "OAuthExchangeError",
    "Order",
    "OrderProduct",
    "RateLimiter",
    "RateLimiterRegistry",
    "ReauthorizationRequired",
    "RetryPolicy",
    "Shipment",
    "ShipmentItem",
    "ShippingAddress",
    "ShippingConsignment",
    "StoreApi",
    "StoreInfo",
    "TokenGrant",
    "Unavailable",
    "exchange_code",
    "format_filter_date",
]
