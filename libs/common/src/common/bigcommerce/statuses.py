"""BigCommerce's order status ids (reference §4.3). Merchants rename statuses, so code keys on ids."""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

INCOMPLETE: Final = 0
PENDING: Final = 1
SHIPPED: Final = 2
PARTIALLY_SHIPPED: Final = 3
REFUNDED: Final = 4
CANCELLED: Final = 5
DECLINED: Final = 6
AWAITING_PAYMENT: Final = 7
AWAITING_PICKUP: Final = 8
# the guide: "orders in 'Awaiting Shipment' are downloaded" (a channel's default order_status_ids)
AWAITING_SHIPMENT: Final = 9
# the guide: despatched orders move to "Completed" (the default despatched_order_status)
COMPLETED: Final = 10
AWAITING_FULFILLMENT: Final = 11
MANUAL_VERIFICATION_REQUIRED: Final = 12
DISPUTED: Final = 13
PARTIALLY_REFUNDED: Final = 14

# An order in one of these will not ship: OrderChanged says `cancelled` (CONTRACT §3).
CANCELLED_STATUSES: Final = frozenset({CANCELLED, REFUNDED, DECLINED})
# Where the connector's own write-back moves an order: a shipment POST moves it to Partially Shipped
# or Shipped (reference §5.2), the status PUT to the channel's despatched status (Completed or Shipped).
WRITEBACK_STATUSES: Final = frozenset({SHIPPED, PARTIALLY_SHIPPED, COMPLETED})
# A channel's `despatched_order_status` setting → the status id the write-back's PUT sets.
DESPATCHED_ORDER_STATUS_IDS: Final = MappingProxyType({"completed": COMPLETED, "shipped": SHIPPED})
