"""Webhook deliveries: the per-store secret, duplicates, malformed bodies, the order download they request."""

from __future__ import annotations

import json
from typing import Any

from auth_gateway.db.webhook_deliveries import remember_delivery
from auth_gateway.webhook_registration import WEBHOOK_HEADER, check_all_hooks

from tests.support.auth_gateway import GatewayRig


async def _post(rig: GatewayRig, body: Any, headers: dict[str, str] | None = None) -> int:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with rig.http.post(
        f"{rig.settings.webhook_destination}", data=data, headers=headers or {}
    ) as response:
        return response.status


async def _clear_due(rig: GatewayRig, store_hash: str) -> None:
    await rig.pool.execute("UPDATE channels SET next_download_at = NULL WHERE store_hash = $1", store_hash)


async def _requested(rig: GatewayRig, store_hash: str) -> list[int]:
    rows = await rig.pool.fetch(
        "SELECT r.order_id FROM order_download_requests r JOIN channels c ON c.id = r.channel_id"
        " WHERE c.store_hash = $1 ORDER BY r.order_id",
        store_hash,
    )
    return [row["order_id"] for row in rows]


async def test_status_update_webhook_requests_its_order_once(rig: GatewayRig) -> None:
    store = rig.create_store()
    await rig.active_channel(store.hash)
    await _clear_due(rig, store.hash)
    order = rig.sandbox.add_order(store.hash, status_id=11)

    deliveries = await rig.sandbox.emit_order_status_updated(store.hash, order.id, 9)
    assert [d.status for d in deliveries] == [200]
    assert await _requested(rig, store.hash) == [order.id]
    row = await rig.channel_row(store.hash)
    assert row is not None
    assert row["orders_requested_at"] is not None
    assert row["next_download_at"] is None  # no window re-read is asked for

    # BigCommerce repeats the same delivery: dropped on its hash
    await rig.pool.execute("DELETE FROM order_download_requests")
    payload, headers = deliveries[0].payload, deliveries[0].headers
    assert await _post(rig, payload, headers) == 200
    assert await _requested(rig, store.hash) == []
    assert await rig.pool.fetchval("SELECT count(*) FROM webhook_deliveries_seen") == 1


async def test_only_a_move_into_a_downloaded_status_starts_anything(rig: GatewayRig) -> None:
    store = rig.create_store()
    await rig.active_channel(store.hash)  # downloads Awaiting Shipment (9) only
    await _clear_due(rig, store.hash)
    secret = rig.sandbox.hooks_for(store.hash)[0].headers[WEBHOOK_HEADER]
    base = {"scope": "store/order/statusUpdated", "producer": f"stores/{store.hash}", "store_id": "1"}
    datas: list[Any] = [
        {"type": "order", "id": 250, "status": {"previous_status_id": 9, "new_status_id": 2}},  # our Shipped
        {"type": "order", "id": 251, "status": {"previous_status_id": 0, "new_status_id": 11}},
        {"type": "order", "id": 252},  # no status
        {"type": "order", "id": True, "status": {"new_status_id": 9}},
        {"type": "order", "id": -3, "status": {"new_status_id": 9}},
        {"type": "order", "id": "12a", "status": {"new_status_id": 9}},
        {"type": "order", "id": 2**63, "status": {"new_status_id": 9}},
        {"type": "shipment", "id": 253, "status": {"new_status_id": 9}},
        {"type": "order", "id": 254, "status": "9"},
        "order 255",
        None,
    ]
    for index, data in enumerate(datas):
        body = {**base, "hash": f"h{index}", "data": data}
        assert await _post(rig, body, {WEBHOOK_HEADER: secret}) == 200, data
    created = {**base, "scope": "store/order/created", "hash": "c1", "data": {"type": "order", "id": 256}}
    assert await _post(rig, created, {WEBHOOK_HEADER: secret}) == 200

    assert await _requested(rig, store.hash) == []
    row = await rig.channel_row(store.hash)
    assert row is not None
    assert (row["next_download_at"], row["orders_requested_at"]) == (None, None)
    # the id may come as its digits, like store_id
    digits = {**base, "hash": "d1", "data": {"type": "order", "id": "257", "status": {"new_status_id": 9}}}
    assert await _post(rig, digits, {WEBHOOK_HEADER: secret}) == 200
    assert await _requested(rig, store.hash) == [257]


async def test_a_burst_of_deliveries_is_one_request_per_order(rig: GatewayRig) -> None:
    store = rig.create_store()
    await rig.active_channel(store.hash)
    secret = rig.sandbox.hooks_for(store.hash)[0].headers[WEBHOOK_HEADER]
    for index in range(50):
        body = {
            "scope": "store/order/statusUpdated",
            "producer": f"stores/{store.hash}",
            "hash": f"burst-{index}",  # 50 distinct deliveries, about 10 orders
            "data": {"type": "order", "id": 300 + index % 10, "status": {"new_status_id": 9}},
        }
        assert await _post(rig, body, {WEBHOOK_HEADER: secret}) == 200
    assert await _requested(rig, store.hash) == list(range(300, 310))


async def test_wrong_or_missing_secret_is_refused_and_triggers_nothing(rig: GatewayRig) -> None:
    store = rig.create_store()
    other = rig.create_store()
    await rig.active_channel(store.hash)
    await rig.active_channel(other.hash)
    await _clear_due(rig, store.hash)
    other_secret = rig.sandbox.hooks_for(other.hash)[0].headers[WEBHOOK_HEADER]
    payload = {
        "scope": "store/order/statusUpdated",
        "producer": f"stores/{store.hash}",
        "hash": "a1b2",
        "data": {"type": "order", "id": 1},
        "created_at": 1,
    }
    assert await _post(rig, payload) == 401
    assert await _post(rig, payload, {WEBHOOK_HEADER: "wrong"}) == 401
    assert await _post(rig, payload, {WEBHOOK_HEADER: other_secret}) == 401  # another store's secret
    row = await rig.channel_row(store.hash)
    assert row is not None
    assert row["next_download_at"] is None
    assert await rig.pool.fetchval("SELECT count(*) FROM webhook_deliveries_seen") == 0


async def test_malformed_bodies_are_bad_requests(rig: GatewayRig) -> None:
    store = rig.create_store()
    await rig.active_channel(store.hash)
    secret = rig.sandbox.hooks_for(store.hash)[0].headers[WEBHOOK_HEADER]
    for body in (
        b"{not json",
        b"[]",
        b"\xff\xfe",
        {"hash": "abc"},
        {"producer": "nope", "hash": "abc"},
    ):
        assert await _post(rig, body, {WEBHOOK_HEADER: secret}) == 400, body
    assert await _post(rig, b"x" * (rig.settings.max_body_bytes + 1), {WEBHOOK_HEADER: secret}) == 413


async def test_delivery_for_pending_channel_is_accepted_but_triggers_nothing(rig: GatewayRig) -> None:
    store = rig.create_store()
    await rig.installed_channel(store.hash)
    row = await rig.channel_row(store.hash)
    assert row is not None
    secret = rig.gateway.cipher.decrypt(row["webhook_secret_encrypted"])
    payload = {"producer": f"stores/{store.hash}", "hash": "ff00", "scope": "store/order/statusUpdated"}
    assert await _post(rig, payload, {WEBHOOK_HEADER: secret}) == 200
    row = await rig.channel_row(store.hash)
    assert row is not None
    assert row["next_download_at"] is None


async def test_periodic_check_repairs_hooks_and_purges_old_hashes(rig: GatewayRig) -> None:
    store = rig.create_store()
    await rig.active_channel(store.hash)
    rig.sandbox.hooks_for(store.hash)[0].is_active = False
    gone = rig.create_store()
    await rig.active_channel(gone.hash)
    rig.sandbox.hooks.pop(rig.sandbox.hooks_for(gone.hash)[0].id)
    assert await remember_delivery(rig.pool, store.hash, "old", -1.0)
    assert await remember_delivery(rig.pool, store.hash, "recent", 3600.0)

    assert await check_all_hooks(rig.gateway) == 2
    assert rig.sandbox.hooks_for(store.hash)[0].is_active
    assert len(rig.sandbox.hooks_for(gone.hash)) == 1
    hashes = await rig.pool.fetch("SELECT hash FROM webhook_deliveries_seen")
    assert [h["hash"] for h in hashes] == ["recent"]
    assert await check_all_hooks(rig.gateway) == 0  # nothing left to repair


async def test_store_id_of_either_type_and_a_missing_hash_are_accepted(rig: GatewayRig) -> None:
    store = rig.create_store()
    await rig.active_channel(store.hash)
    secret = rig.sandbox.hooks_for(store.hash)[0].headers[WEBHOOK_HEADER]
    base = {
        "scope": "store/order/statusUpdated",
        "producer": f"stores/{store.hash}",
        "created_at": 1561479335,
    }
    data = {"type": "order", "id": 250, "status": {"previous_status_id": 0, "new_status_id": 9}}
    for store_id, payload_hash in (("1025646", "7ee67cd1cf2ca60bc1aa9e5fe957d2de373be4ca"), (1025646, "b2")):
        await rig.pool.execute("DELETE FROM order_download_requests")
        body = {**base, "store_id": store_id, "data": data, "hash": payload_hash}
        assert await _post(rig, body, {WEBHOOK_HEADER: secret}) == 200
        assert await _requested(rig, store.hash) == [250], store_id

    # without `hash` a delivery is deduplicated on its body's SHA-1
    unhashed = json.dumps({**base, "store_id": 1, "data": {**data, "id": 251}}).encode()
    await rig.pool.execute("DELETE FROM order_download_requests")
    assert await _post(rig, unhashed, {WEBHOOK_HEADER: secret}) == 200
    assert await _requested(rig, store.hash) == [251]
    await rig.pool.execute("DELETE FROM order_download_requests")
    assert await _post(rig, unhashed, {WEBHOOK_HEADER: secret}) == 200
    assert await _requested(rig, store.hash) == []
    assert await rig.pool.fetchval("SELECT count(*) FROM webhook_deliveries_seen") == 3


async def test_deliveries_for_stores_not_served_get_200_change_nothing_and_are_counted(
    rig: GatewayRig,
) -> None:
    # a 4xx would count towards BigCommerce blocklisting the destination for every store (CONTRACT §4)
    gone = rig.create_store()
    await rig.active_channel(gone.hash)
    secret = rig.sandbox.hooks_for(gone.hash)[0].headers[WEBHOOK_HEADER]
    await rig.sandbox.uninstall_and_notify(gone.hash)
    before = await rig.channel_row(gone.hash)
    counted = await _metric(rig, 'gateway_webhooks_received_total{outcome="not_served"}')
    payload = {
        "scope": "store/order/statusUpdated",
        "producer": f"stores/{gone.hash}",
        "hash": "c3d4",
        "data": {"type": "order", "id": 1},
        "created_at": 1,
    }
    assert await _post(rig, payload, {WEBHOOK_HEADER: secret}) == 200
    assert await _post(rig, payload, {WEBHOOK_HEADER: "anything"}) == 200
    assert await _post(rig, {**payload, "producer": "stores/nosuchstore"}) == 200

    assert await rig.channel_row(gone.hash) == before
    assert await rig.pool.fetchval("SELECT count(*) FROM webhook_deliveries_seen") == 0
    assert await _metric(rig, 'gateway_webhooks_received_total{outcome="not_served"}') == counted + 3


async def _metric(rig: GatewayRig, series: str) -> float:
    async with rig.http.get(f"{rig.base_url}/metrics") as response:
        for line in (await response.text()).splitlines():
            if line.startswith(series + " "):
                return float(line.split()[-1])
    return 0.0
