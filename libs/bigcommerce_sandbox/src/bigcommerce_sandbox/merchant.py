"""What a merchant does to an order in the BigCommerce control panel, for tests and the demo.

Each action changes the order as BigCommerce does and moves `date_modified` (so a listing by
`min_date_modified` finds it). A status move fires `store/order/statusUpdated` and
`store/order/updated`, any other edit `store/order/updated` (reference §8.2); deliveries happen
before the action returns. None of these goes through the API: no request is logged for the app.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bigcommerce_sandbox import webhooks
from bigcommerce_sandbox.errors import SandboxError
from bigcommerce_sandbox.models import Delivery, Order, Shipment, ShipmentItem
from bigcommerce_sandbox.sandbox import Sandbox

REFUNDED = 4
CANCELLED = 5
DECLINED = 6
SHIPPED = 2


class Merchant:
    """The control panel of one store: `Merchant(sandbox, store_hash).cancel(order_id)`."""

    def __init__(self, sandbox: Sandbox, store_hash: str) -> None:
        self._sandbox = sandbox
        self._store_hash = store_hash
        sandbox.store(store_hash)  # an unknown store fails here, not on the first action

    def _order(self, order_id: int) -> Order:
        return self._sandbox.order(self._store_hash, order_id)

    async def set_status(self, order_id: int, status_id: int) -> list[Delivery]:
        """Move the order to any status (the status drop-down of the order list)."""
        deliveries = await self._sandbox.emit_order_status_updated(self._store_hash, order_id, status_id)
        self._sandbox.save()
        return deliveries

    async def cancel(self, order_id: int) -> list[Delivery]:
        """Cancel: the lines stay as they were, only the status moves."""
        return await self.set_status(order_id, CANCELLED)

    async def decline(self, order_id: int) -> list[Delivery]:
        """Decline (payment refused, or the merchant turned the order down)."""
        return await self.set_status(order_id, DECLINED)

    async def refund(self, order_id: int) -> list[Delivery]:
        """Refund the whole order: every unit not shipped counts as refunded, payment refunded."""
        order = self._order(order_id)
        for line in order.lines:
            line.quantity_refunded = line.quantity - line.quantity_shipped
        order.payment_status = "refunded"
        return await self.set_status(order_id, REFUNDED)

    async def edit_address(
        self, order_id: int, order_address_id: int, *, shipping_method: str | None = None, **fields: str
    ) -> list[Delivery]:
        """Change fields of one shipping address (`city="Leeds"`) and/or its shipping method."""
        order = self._order(order_id)
        shipping = order.address(order_address_id)
        if shipping is None:
            raise SandboxError(f"order {order_id} has no shipping address {order_address_id}")
        try:
            shipping.address = replace(shipping.address, **fields)
        except TypeError as error:
            raise SandboxError(f"not an address field: {error}") from None
        if shipping_method is not None:
            shipping.shipping_method = shipping_method
        return await self._updated(order)

    async def edit_quantity(self, order_id: int, order_product_id: int, quantity: int) -> list[Delivery]:
        """Change how many units of a line were ordered (never below what has shipped)."""
        order = self._order(order_id)
        line = order.line(order_product_id)
        if line is None:
            raise SandboxError(f"order {order_id} has no line {order_product_id}")
        if quantity < max(1, line.quantity_shipped):
            raise SandboxError(f"quantity {quantity} is below 1 or below what has shipped")
        line.quantity = quantity
        return await self._updated(order)

    async def ship_by_hand(self, order_id: int, *, tracking_number: str = "") -> list[Delivery]:
        """Ship every unit left (one shipment per address) outside the app: the order goes to Shipped."""
        order = self._order(order_id)
        store = self._sandbox.store(self._store_hash)
        now = self._sandbox.now()
        deliveries: list[Delivery] = []
        for shipping in order.addresses:
            lines = [
                ln
                for ln in order.lines
                if ln.type == "physical"
                and not ln.order_pickup_method_id
                and _ships_to(order, ln.order_address_id) == shipping.id
                and ln.remaining - ln.quantity_refunded > 0
            ]
            if not lines:
                continue
            items = [ShipmentItem(ln.id, ln.product_id, ln.remaining - ln.quantity_refunded) for ln in lines]
            shipment = Shipment(
                id=store.next_shipment_id,
                order_id=order.id,
                order_address_id=shipping.id,
                date_created=now,
                items=items,
                tracking_number=tracking_number,
                shipping_method=shipping.shipping_method,
            )
            store.next_shipment_id += 1
            order.shipments.append(shipment)
            for line, item in zip(lines, items, strict=True):
                line.quantity_shipped += item.quantity
            shipped = {"type": "shipment", "id": shipment.id, "orderId": order.id}
            deliveries += await webhooks.deliver(self._sandbox, store.hash, "store/shipment/created", shipped)
        order.date_shipped = now
        deliveries += await self.set_status(order_id, SHIPPED)
        return deliveries

    async def touch(self, order_id: int, *, staff_notes: str | None = None) -> list[Delivery]:
        """An edit of nothing the connector reads (staff notes): only `date_modified` moves."""
        order = self._order(order_id)
        if staff_notes is not None:
            order.staff_notes = staff_notes
        return await self._updated(order)

    async def _updated(self, order: Order) -> list[Delivery]:
        order.date_modified = self._sandbox.now()
        self._sandbox.save()
        data: dict[str, Any] = {"type": "order", "id": order.id}
        return await webhooks.deliver(self._sandbox, self._store_hash, "store/order/updated", data)


def _ships_to(order: Order, order_address_id: int) -> int:
    # a line without an address of a single-address order ships to that address
    if order_address_id == 0 and len(order.addresses) == 1:
        return order.addresses[0].id
    return order_address_id
