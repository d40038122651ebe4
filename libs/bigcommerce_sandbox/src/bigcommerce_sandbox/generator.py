"""Seeded generator of realistic stores: every status, digital and mixed, multi-address, unicode."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from bigcommerce_sandbox.builders import AddressSpec, LineSpec, build_order
from bigcommerce_sandbox.models import ORDER_STATUSES, Address, Order, Shipment, ShipmentItem, Store

GRAMS_PER_UNIT = {
    "Grams": Decimal("1"),
    "Kilograms": Decimal("1000"),
    "Ounces": Decimal("28.349523125"),
    "Pounds": Decimal("453.59237"),
}

NAMES = [
    ("Zoë", "Ångström"),
    ("Łukasz", "Żółkiewski"),
    ("Siân", "Llewelyn"),
    ("Noémie", "Dubois"),
    ("Søren", "Kierkegaard"),
    ("Aoife", "Ní Bhriain"),
    ("José", "Núñez"),
    ("Chloë", "Brontë"),
    ("Björn", "Müller"),
    ("Oliver", "Smith"),
    ("Amelia", "Jones"),
    ("Mohammed", "Khan"),
    ("Priya", "Patel"),
    ("Hamish", "MacDonald"),
    ("Grace", "O'Neill"),
    ("Dương", "Nguyễn"),
]
PLACES = [
    ("10 Downing Street", "London", "SW1A 2AA", "United Kingdom", "GB"),
    ("1 Castle Street", "Cardiff", "CF10 1BS", "United Kingdom", "GB"),
    ("22 Royal Mile", "Edinburgh", "EH1 1RE", "United Kingdom", "GB"),
    ("5 Donegall Square", "Belfast", "BT1 5GS", "United Kingdom", "GB"),
    ("8 Deansgate", "Manchester", "M3 1AZ", "United Kingdom", "GB"),
    ("ul. Piotrkowska 104", "Łódź", "90-926", "Poland", "PL"),
    ("Bahnhofstrasse 1", "Zürich", "8001", "Switzerland", "CH"),
    ("Stortorget 2", "Malmö", "211 22", "Sweden", "SE"),
    ("12 Rue de Rivoli", "Paris", "75004", "France", "FR"),
    ("3 Grafton Street", "Dublin", "D02 VF65", "Ireland", "IE"),
]
# (name, weight in grams, price inc. tax)
PHYSICAL = [
    ("Ceramic Mug", 350, "9.9900"),
    ("Wool Scarf \u2013 Ærø edition", 200, "24.5000"),
    ("Cast Iron Pan", 2300, "39.0000"),
    ("Notebook A5", 250, "6.7500"),
    ("Tea Sampler Box", 500, "14.0000"),
    ("Crème Brûlée Torch", 410, "19.9900"),
    ("Garden Gnome „Günther“", 1800, "29.9500"),
    ("Linen Tea Towel", 90, "7.5000"),
]
DIGITAL = [("E-book: Café Stories", "4.9900"), ("Knitting Pattern (PDF)", "3.5000")]
GIFT_CARDS = [("£25 Gift Certificate", "25.0000"), ("£50 Gift Certificate", "50.0000")]
SHIPPING_METHODS = ["Royal Mail Tracked 48", "Royal Mail Tracked 24", "Flat Rate", "Free Shipping"]
# Weighted towards the statuses a connector imports (Awaiting Fulfillment / Shipment).
STATUS_WEIGHTS = {9: 30, 11: 30, 2: 8, 3: 4, 10: 8, 7: 4, 1: 3, 0: 3, 5: 3, 4: 2}


def store_weight(grams: int, weight_units: str) -> Decimal:
    """A weight in grams expressed in the store's `weight_units`, to 4 decimals."""
    per_unit = GRAMS_PER_UNIT.get(weight_units, Decimal("1"))
    return (Decimal(grams) / per_unit).quantize(Decimal("0.0001"))


def _address(rng: random.Random) -> Address:
    first, last = rng.choice(NAMES)
    street, city, postcode, country, iso2 = rng.choice(PLACES)
    return Address(
        first_name=first,
        last_name=last,
        street_1=street,
        city=city,
        zip=postcode,
        country=country,
        country_iso2=iso2,
        company=rng.choice(["", "", "Ærøskøbing Ltd", "Café Zoë"]),
        phone=f"+44 7700 9{rng.randint(0, 99999):05d}",
        email=f"{first.lower()}.{rng.randint(1, 999)}@example.com",
    )


def _physical(rng: random.Random, store: Store, address: int) -> LineSpec:
    name, grams, price = rng.choice(PHYSICAL)
    return LineSpec(
        name=name,
        quantity=rng.choice([1, 1, 1, 2, 3]),
        type="physical",
        price_inc_tax=price,
        weight=store_weight(grams, store.weight_units),
        address=address,
        product_id=100 + PHYSICAL.index((name, grams, price)),
    )


def _lines(rng: random.Random, store: Store, kind: str, n_addresses: int) -> list[LineSpec]:
    if kind == "digital":
        name, price = rng.choice(DIGITAL)
        return [LineSpec(name=name, type="digital", price_inc_tax=price)]
    lines = [_physical(rng, store, i % n_addresses) for i in range(max(n_addresses, 1))]
    lines += [_physical(rng, store, rng.randrange(n_addresses)) for _ in range(rng.randint(0, 2))]
    if kind == "mixed":
        name, price = rng.choice(DIGITAL)
        lines.append(LineSpec(name=name, type="digital", price_inc_tax=price))
        card, value = rng.choice(GIFT_CARDS)
        lines.append(LineSpec(name=card, type="giftcertificate", price_inc_tax=value))
    return lines


def _ship(store: Store, order: Order, *, partial: bool) -> None:
    """Record shipments for an order generated as (partially) shipped."""
    physical = [ln for ln in order.lines if ln.type == "physical"]
    if partial:
        first = physical[0]
        if len(physical) == 1 and first.quantity == 1:
            first.quantity = 2  # a single unit cannot be partially shipped
        plan = {first.id: first.quantity - 1 if len(physical) == 1 else first.quantity}
    else:
        plan = {ln.id: ln.quantity for ln in physical}
    for addr in order.addresses:
        items = []
        for line in physical:
            if line.id in plan and line.order_address_id == addr.id:
                line.quantity_shipped = plan[line.id]
                items.append(ShipmentItem(line.id, line.product_id, plan[line.id]))
        if items:
            order.shipments.append(
                Shipment(
                    id=store.next_shipment_id,
                    order_id=order.id,
                    order_address_id=addr.id,
                    date_created=order.date_modified,
                    items=items,
                    tracking_number=f"TT{order.id:09d}GB",
                    shipping_provider="royalmail",
                )
            )
            store.next_shipment_id += 1
    if not partial:
        order.date_shipped = order.date_modified


def generate_orders(
    store: Store, *, count: int, now: datetime, seed: int = 0, max_age_days: int = 30
) -> list[Order]:
    """Add `count` orders to `store`, the same ones for the same seed and `now`.

    The first orders cover every status once; every tenth order (from the fourth) is
    digital-only, from the sixth mixed (physical, digital and a gift certificate), from the
    eighth multi-address. Ages spread over `max_age_days`, so some are over 7 days old.
    """
    rng = random.Random(seed)
    statuses = list(ORDER_STATUSES)
    weighted = [s for s, weight in STATUS_WEIGHTS.items() for _ in range(weight)]
    created: list[Order] = []
    for index in range(count):
        status = statuses[index] if index < len(statuses) else rng.choice(weighted)
        kind = {3: "digital", 5: "mixed", 7: "multi"}.get(index % 10, "physical")
        if kind == "digital" and status in (2, 3):
            kind = "physical"  # a digital-only order is never (partially) shipped
        n_addresses = 0 if kind == "digital" else (rng.randint(2, 3) if kind == "multi" else 1)
        age = timedelta(seconds=rng.randint(60, max_age_days * 86400))
        when = (now - age).replace(microsecond=0)
        modified = min(now, when + timedelta(seconds=rng.randint(0, 2 * 86400))).replace(microsecond=0)
        addresses = [
            AddressSpec(
                address=_address(rng),
                shipping_method=rng.choice(SHIPPING_METHODS),
                cost_inc_tax=rng.choice(["0.0000", "3.9900", "4.9900", "7.9500"]),
            )
            for _ in range(n_addresses)
        ]
        order = build_order(
            store,
            lines=_lines(rng, store, kind, n_addresses),
            addresses=addresses,
            status_id=status,
            created=when,
            modified=modified,
            billing=addresses[0].address if addresses else _address(rng),
            customer_id=rng.choice([0, 0, rng.randint(1, 500)]),
            customer_message=rng.choice(["", "", "Please leave with a neighbour \u2013 merci!"]),
        )
        if status in (2, 3) and not order.order_is_digital:
            _ship(store, order, partial=status == 3)
        created.append(order)
    return created
