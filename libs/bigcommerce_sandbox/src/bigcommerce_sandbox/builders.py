"""Builders that put explicit orders into a store (for tests and the generator)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from bigcommerce_sandbox.models import (
    Address,
    LineType,
    Order,
    OrderLine,
    ShippingAddress,
    Store,
)

DEFAULT_ADDRESS = Address(
    first_name="Zoë",
    last_name="Ångström",
    street_1="1 Test Street",
    city="London",
    zip="EC1A 1BB",
    email="zoe@example.com",
    phone="+44 20 7946 0000",
)


@dataclass
class LineSpec:
    """One order line to create. `address` is the index into the order's shipping addresses."""

    name: str = "Sandbox product"
    quantity: int = 1
    type: LineType = "physical"
    price_inc_tax: Decimal | str = Decimal("12.0000")
    price_ex_tax: Decimal | str | None = None
    weight: Decimal | str = Decimal("500")
    sku: str = ""
    product_id: int | None = None
    variant_id: int | None = None
    address: int = 0
    quantity_shipped: int = 0
    options: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class AddressSpec:
    """One shipping address (consignment) to create."""

    address: Address = field(default_factory=lambda: DEFAULT_ADDRESS)
    shipping_method: str = "Royal Mail Tracked 48"
    cost_inc_tax: Decimal | str = Decimal("3.9900")


def _ex_tax(inc: Decimal) -> Decimal:
    # UK VAT at 20% so that ex/inc tax differ like a real UK store's numbers.
    return (inc / Decimal("1.2")).quantize(Decimal("0.0001"))


def build_order(
    store: Store,
    *,
    lines: Sequence[LineSpec],
    created: datetime,
    addresses: Sequence[AddressSpec] | None = None,
    status_id: int = 11,
    modified: datetime | None = None,
    billing: Address | None = None,
    customer_id: int = 0,
    customer_message: str = "",
    is_deleted: bool = False,
) -> Order:
    """Create an order in `store` with explicit lines and return it.

    Physical lines ship to `addresses[line.address]`; digital and gift-certificate lines have
    no address (`order_address_id` 0). An order with no physical line gets no address unless
    addresses are given explicitly.
    """
    if not lines:
        raise ValueError("an order needs at least one line")
    has_physical = any(spec.type == "physical" for spec in lines)
    specs = list(addresses) if addresses is not None else ([AddressSpec()] if has_physical else [])
    order_id = store.next_order_id
    store.next_order_id += 1
    shipping: list[ShippingAddress] = []
    for spec in specs:
        inc = Decimal(spec.cost_inc_tax)
        shipping.append(
            ShippingAddress(
                id=store.next_address_id,
                address=spec.address,
                shipping_method=spec.shipping_method,
                cost_ex_tax=_ex_tax(inc),
                cost_inc_tax=inc,
            )
        )
        store.next_address_id += 1
    order_lines: list[OrderLine] = []
    for line_spec in lines:
        if line_spec.type == "physical" and not 0 <= line_spec.address < len(shipping):
            raise ValueError(f"line {line_spec.name!r} ships to missing address {line_spec.address}")
        line_id = store.next_line_id
        store.next_line_id += 1
        inc = Decimal(line_spec.price_inc_tax)
        order_lines.append(
            OrderLine(
                id=line_id,
                product_id=line_spec.product_id if line_spec.product_id is not None else 1000 + line_id,
                variant_id=line_spec.variant_id,
                name=line_spec.name,
                sku=line_spec.sku or f"SKU-{line_id:05d}",
                type=line_spec.type,
                quantity=line_spec.quantity,
                quantity_shipped=line_spec.quantity_shipped,
                price_inc_tax=inc,
                price_ex_tax=(
                    Decimal(line_spec.price_ex_tax) if line_spec.price_ex_tax is not None else _ex_tax(inc)
                ),
                weight=Decimal(line_spec.weight) if line_spec.type == "physical" else Decimal("0"),
                order_address_id=shipping[line_spec.address].id if line_spec.type == "physical" else 0,
                options=line_spec.options,
            )
        )
    first = specs[0].address if specs else DEFAULT_ADDRESS
    order = Order(
        id=order_id,
        status_id=status_id,
        date_created=created,
        date_modified=modified or created,
        billing_address=billing or first,
        lines=order_lines,
        addresses=shipping,
        customer_id=customer_id,
        customer_message=customer_message,
        is_deleted=is_deleted,
        currency_code=store.currency,
    )
    store.orders[order_id] = order
    return order
