"""Properties of the seeded store generator."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bigcommerce_sandbox import Sandbox, generate_orders
from bigcommerce_sandbox.models import ORDER_STATUSES
from bigcommerce_sandbox.serialize import order_json

from .conftest import START


def make(count: int, seed: int = 1, weight_units: str = "Grams") -> list:
    sandbox = Sandbox()
    store = sandbox.create_store("gen", weight_units=weight_units)
    return generate_orders(store, count=count, now=START, seed=seed)


def snapshot(orders: list) -> list:
    sandbox = Sandbox()
    store = sandbox.create_store("snap")
    return [order_json(o, store, "http://x", include=frozenset({"consignments.line_items"})) for o in orders]


def test_same_seed_same_store_and_another_seed_differs() -> None:
    assert snapshot(make(50, seed=3)) == snapshot(make(50, seed=3))
    assert snapshot(make(50, seed=3)) != snapshot(make(50, seed=4))


def test_covers_every_status_and_kind() -> None:
    orders = make(60)
    assert {o.status_id for o in orders} == set(ORDER_STATUSES)
    kinds = [{ln.type for ln in o.lines} for o in orders]
    assert {"digital"} in kinds
    assert {"physical", "digital", "giftcertificate"} in kinds
    assert any(len(o.addresses) > 1 for o in orders)
    assert any(START - o.date_created > timedelta(days=7) for o in orders)
    assert any(START - o.date_created < timedelta(days=7) for o in orders)
    names = {o.billing_address.first_name + o.billing_address.last_name for o in orders}
    assert any(not name.isascii() for name in names)


def test_orders_are_consistent() -> None:
    orders = make(300)
    assert len({o.id for o in orders}) == 300
    line_ids = [ln.id for o in orders for ln in o.lines]
    assert len(set(line_ids)) == len(line_ids)
    for order in orders:
        address_ids = {a.id for a in order.addresses}
        for line in order.lines:
            if line.type == "physical":
                assert line.order_address_id in address_ids
            else:
                assert line.order_address_id == 0
        assert order.date_created <= order.date_modified <= START
        physical = [ln for ln in order.lines if ln.type == "physical"]
        if order.status_id == 2 and physical:
            assert all(ln.remaining == 0 for ln in physical)
            assert order.date_shipped is not None
        if order.status_id == 3:
            assert 0 < sum(ln.quantity_shipped for ln in physical) < sum(ln.quantity for ln in physical)
        if order.order_is_digital:
            assert order.addresses == []


def test_weights_follow_the_store_units() -> None:
    grams = make(20, weight_units="Grams")
    kilos = make(20, weight_units="Kilograms")
    for g_order, k_order in zip(grams, kilos, strict=True):
        for g_line, k_line in zip(g_order.lines, k_order.lines, strict=True):
            if g_line.type == "physical":
                assert k_line.weight == (g_line.weight / 1000).quantize(Decimal("0.0001"))


def test_thousands_of_orders() -> None:
    orders = make(3000)
    assert len(orders) == 3000
    assert sum(1 for o in orders if o.status_id == 9) > 300
