"""What the writer counts as its own shipments of an order, from its despatches' recorded requests."""

from __future__ import annotations

from typing import Any

from status_writer.db.orders import OrderKnowledge, account_for_write


def body(address: int, items: list[tuple[int, int]], tracking: str = "TT1") -> dict[str, Any]:
    return {
        "order_address_id": address,
        "items": [{"order_product_id": p, "quantity": q} for p, q in items],
        "tracking_number": tracking,
        "shipping_provider": "royalmail",
        "tracking_carrier": "",
    }


def test_written_requests_become_the_connectors_shipments_once_each() -> None:
    known = OrderKnowledge()
    shared = body(1, [(10, 2)])
    # two despatches merged into one parcel each recorded the same body and shipment id
    account_for_write(known, "written", [shared], [500])
    account_for_write(known, "written", [shared], [500])
    account_for_write(known, "written", [body(2, [(11, 1)], "TT2")], [501])

    assert not known.unaccounted
    assert [(s.id, s.order_address_id, s.tracking_number) for s in known.own_shipments] == [
        (500, 1, "TT1"),
        (501, 2, "TT2"),
    ]
    assert [(i.order_product_id, i.quantity) for i in known.own_shipments[0].items] == [(10, 2)]


def test_a_request_that_may_have_been_applied_or_a_write_without_one_is_unaccounted() -> None:
    for state, request, ids in (
        ("posting", [body(1, [(10, 1)])], []),  # in flight, not due in this batch
        ("failed", [body(1, [(10, 1)])], []),  # refused, maybe in part
        ("pending", [body(1, [(10, 1)])], []),  # retried after a failure
        ("written", None, [500]),  # written because its parcel was found: items unknown
        ("written", [body(1, [(10, 1)])], [500, 501]),  # request and shipments disagree
        ("written", [{"items": "garbage"}], [500]),
    ):
        known = OrderKnowledge()
        account_for_write(known, state, request, ids)
        assert known.unaccounted, (state, request, ids)
