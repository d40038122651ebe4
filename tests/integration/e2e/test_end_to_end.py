"""The whole connector as the acceptance suite sees it: install, download, despatch, dead letters, uninstall."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aio_pika
import asyncpg
from bigcommerce_sandbox import Address, AddressSpec, LineSpec, Order, Sandbox

from tests.integration.e2e.actions import (
    activate,
    despatch,
    flush_count,
    install,
    order_listings,
    publish,
    wait_for_flushes,
)
from tests.integration.e2e.rig import CONTRACT_DLQ, Received, Rig, wait_until

UTC_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
MONEY = re.compile(r"^-?\d+\.\d\d$")
COMPLETED = 10

SECOND_ADDRESS = Address(
    first_name="Ada",
    last_name="Lovelace",
    street_1="12 St James's Square",
    city="London",
    zip="SW1Y 4JH",
    email="ada@example.com",
)


def _orders(sandbox: Sandbox, store_hash: str) -> dict[str, Order]:
    """A store with one order of every kind that matters, in a store weighing in kilograms."""
    now = sandbox.now()
    return {
        "physical": sandbox.add_order(
            store_hash,
            [LineSpec(name="Tea towel", quantity=2, price_inc_tax="12.50", weight="0.25")],
            addresses=[AddressSpec(cost_inc_tax="3.99")],
        ),
        "digital": sandbox.add_order(
            store_hash, [LineSpec(name="E-book", type="digital", price_inc_tax="5")]
        ),
        "mixed": sandbox.add_order(
            store_hash,
            [
                LineSpec(name="Mug", price_inc_tax="8.00", weight="0.4"),
                LineSpec(name="Pattern download", type="digital", price_inc_tax="3.00"),
            ],
        ),
        "multi": sandbox.add_order(
            store_hash,
            [
                LineSpec(name="Candle", price_inc_tax="15.00", weight="0.3", address=0),
                LineSpec(name="Soap", quantity=3, price_inc_tax="4.00", weight="0.1", address=1),
            ],
            addresses=[
                AddressSpec(),
                AddressSpec(address=SECOND_ADDRESS, shipping_method="Royal Mail Tracked 24"),
            ],
        ),
        "old": sandbox.add_order(store_hash, [LineSpec(name="Old lamp")], created=now - timedelta(days=8)),
        "unpaid": sandbox.add_order(store_hash, [LineSpec(name="Scarf")], status_id=11),
    }


@dataclass(frozen=True)
class Shop:
    """The merchant's store, its orders and its channel once installed."""

    hash: str
    orders: dict[str, Order]
    channel_id: str

    @property
    def eligible(self) -> dict[int, Order]:
        """The orders the guide says are downloaded: Awaiting Shipment, recent, with a physical item."""
        return {self.orders[k].id: self.orders[k] for k in ("physical", "mixed", "multi")}


def _assert_contract_properties(received: list[Received]) -> None:
    for message in received:
        assert message.content_type == "application/json"
        assert message.message_id == message.body["event_id"]
        assert message.type == message.body["event_type"]
        assert message.delivery_mode == 2  # persistent
        assert message.body["schema_version"] == 1
        assert UTC_Z.match(message.body["occurred_at"])


def _check_downloaded(event: dict[str, Any], order: Order, trading_name: str) -> None:
    assert event["trading_name"] == trading_name
    body = event["order"]
    assert body["order_id"] == order.id
    assert body["status_id"] == 9
    assert UTC_Z.match(body["date_created"])
    assert UTC_Z.match(body["date_modified"])
    for name in ("subtotal_inc_tax", "shipping_cost_inc_tax", "total_inc_tax"):
        assert MONEY.match(body[name]), (name, body[name])
    physical = [line for line in order.lines if line.type == "physical"]
    consignments = body["consignments"]
    assert {c["order_address_id"] for c in consignments} == {a.id for a in order.addresses}
    for consignment in consignments:
        address = order.address(consignment["order_address_id"])
        assert address is not None
        assert consignment["shipping_method"] == address.shipping_method
        assert consignment["address"]["zip"] == address.address.zip
        assert consignment["address"]["country_iso2"] == address.address.country_iso2
        lines = {line.id: line for line in physical if line.order_address_id == address.id}
        assert {item["order_product_id"] for item in consignment["items"]} == set(lines)
        for item in consignment["items"]:
            line = lines[item["order_product_id"]]
            assert item["quantity"] == line.quantity
            assert item["sku"] == line.sku
            # per unit, the store weighs in kilograms
            assert item["weight_grams"] == f"{line.weight * 1000:.2f}"
            assert item["unit_price_inc_tax"] == f"{line.price_inc_tax:.2f}"


async def _install_and_activate(rig: Rig, store_hash: str, orders: dict[str, Order]) -> Shop:
    channel = await install(rig, store_hash)
    shop = Shop(hash=store_hash, orders=orders, channel_id=channel["id"])
    assert channel["channel"] == "BigCommerce"
    assert channel["status"] == "pending"
    assert channel["store_name"] == "Zoë's Sandbox Shop"
    assert channel["connection_expires"] is None
    assert channel["mark_orders_as_despatched"] is True
    assert channel["order_status_ids"] == [9]
    assert channel["despatched_order_status"] == "completed"
    (connected,) = await rig.tap.wait_for("ChannelConnected", channel_id=shop.channel_id)
    assert connected.routing_key == "bigcommerce.channel.connected"
    assert (connected.body["store_hash"], connected.body["status"]) == (shop.hash, "pending")

    await activate(rig, shop.channel_id, "Zoë's Shop")
    (activated,) = await rig.tap.wait_for("ChannelActivated", channel_id=shop.channel_id)
    assert activated.routing_key == "bigcommerce.channel.activated"
    assert (activated.body["store_hash"], activated.body["status"]) == (shop.hash, "active")
    status, shown = await rig.api("GET", f"/api/v1/channels/{shop.channel_id}")
    assert (status, shown["status"], shown["trading_name"]) == (200, "active", "Zoë's Shop")
    # activation registered the status webhook, pointing back at the gateway
    (hook,) = rig.sandbox.hooks_for(shop.hash, rig.sandbox.config.client_id)
    assert (hook.scope, hook.is_active) == ("store/order/statusUpdated", True)
    assert hook.destination == f"{rig.gateway_url}/bigcommerce/webhooks"
    return shop


async def _check_downloads(rig: Rig, shop: Shop) -> None:
    """Exactly the eligible orders arrive, each once, however many polls follow."""
    await rig.tap.wait_for("OrderDownloaded", len(shop.eligible), channel_id=shop.channel_id)
    listings = order_listings(rig.sandbox, shop.hash)
    await wait_until(
        lambda: order_listings(rig.sandbox, shop.hash) >= listings + 2, "two more polls of the store"
    )
    await rig.tap.pump()
    downloaded = rig.tap.of("OrderDownloaded")
    assert [d.body["channel_id"] for d in downloaded] == [shop.channel_id] * len(shop.eligible)
    assert sorted(d.body["order"]["order_id"] for d in downloaded) == sorted(shop.eligible)
    for message in downloaded:
        assert message.routing_key == "bigcommerce.order.downloaded"
        assert message.body["store_hash"] == shop.hash
        _check_downloaded(message.body, shop.eligible[message.body["order"]["order_id"]], "Zoë's Shop")
    by_id = {d.body["order"]["order_id"]: d.body["order"] for d in downloaded}
    physical = by_id[shop.orders["physical"].id]
    money = (physical["subtotal_inc_tax"], physical["shipping_cost_inc_tax"], physical["total_inc_tax"])
    assert money == ("25.00", "3.99", "28.99")
    (item,) = physical["consignments"][0]["items"]
    assert (item["unit_price_inc_tax"], item["weight_grams"]) == ("12.50", "250.00")
    (mixed,) = by_id[shop.orders["mixed"].id]["consignments"]
    assert [i["name"] for i in mixed["items"]] == ["Mug"]  # the digital line never appears
    assert len(by_id[shop.orders["multi"].id]["consignments"]) == 2


async def _despatch_and_check_shipments(rig: Rig, shop: Shop) -> None:
    """One OrderDespatched per consignment: one royalmail shipment each, then the order is Completed."""
    sandbox, multi = rig.sandbox, shop.orders["multi"]
    tracking = {
        (shop.orders["physical"].id, None): "AB123456785GB",
        (shop.orders["mixed"].id, None): "AB223456785GB",
        (multi.id, multi.addresses[0].id): "AB323456785GB",
        (multi.id, multi.addresses[1].id): "AB423456785GB",
    }
    for (order_id, address_id), number in tracking.items():
        extra = {} if address_id is None else {"order_address_id": address_id}
        event = despatch(shop.channel_id, shop.hash, order_id, tracking_number=number, **extra)
        await publish(rig, json.dumps(event).encode(), event["event_id"])

    def written() -> bool:
        return all(
            sandbox.order(shop.hash, order_id).status_id == COMPLETED
            and len(sandbox.order(shop.hash, order_id).shipments) == len(order.addresses)
            for order_id, order in shop.eligible.items()
        )

    await wait_until(written, "every despatch written and every order Completed")
    for (order_id, address_id), number in tracking.items():
        order = sandbox.order(shop.hash, order_id)
        address = address_id if address_id is not None else order.addresses[0].id
        (shipment,) = [s for s in order.shipments if s.order_address_id == address]
        assert shipment.shipping_provider == "royalmail"
        assert shipment.tracking_number == number
        assert number in shipment.tracking_link
        assert "royalmail.com" in shipment.tracking_link
        shipped = {item.order_product_id: item.quantity for item in shipment.items}
        assert shipped == {
            line.id: line.quantity
            for line in order.lines
            if line.type == "physical" and line.order_address_id == address
        }


async def _check_dead_letter_and_repeat(rig: Rig, shop: Shop) -> None:
    """A malformed message goes to the DLQ with its reason; the queue keeps flowing; a repeat ships nothing."""
    body = b'{"event_type": "OrderDespatched", "order_id": '
    malformed_id = str(uuid.uuid4())
    await publish(rig, body, malformed_id)
    channel = await rig.connection.channel()
    try:
        dlq = await channel.declare_queue(CONTRACT_DLQ, passive=True)
        dead: list[aio_pika.abc.AbstractIncomingMessage] = []

        async def dead_lettered() -> bool:
            message = await dlq.get(no_ack=True, fail=False)
            if message is not None:
                dead.append(message)
            return bool(dead)

        await wait_until(dead_lettered, "the malformed message in the DLQ")
    finally:
        await channel.close()
    assert (dead[0].message_id, dead[0].body) == (malformed_id, body)
    reason = (dead[0].headers or {}).get("x-rejection-reason")
    assert isinstance(reason, (str, bytes))
    assert reason

    # the same despatch again under a new event_id, behind the malformed one: ingested, no new shipment
    writer = rig.services.writer
    received = await rig.metric(writer, "status_writer_despatches_received_total")
    physical = shop.orders["physical"]
    repeat = despatch(shop.channel_id, shop.hash, physical.id, tracking_number="AB123456785GB")
    await publish(rig, json.dumps(repeat).encode(), repeat["event_id"])

    async def ingested() -> bool:
        return await rig.metric(writer, "status_writer_despatches_received_total") > received

    await wait_until(ingested, "the repeated despatch ingested")
    await wait_for_flushes(rig, await flush_count(rig) + 2)
    assert len(rig.sandbox.order(shop.hash, physical.id).shipments) == 1
    for name in ("digital", "old", "unpaid"):
        assert rig.sandbox.order(shop.hash, shop.orders[name].id).shipments == []


async def _uninstall_and_check(rig: Rig, shop: Shop, quiet_hash: str, pool: asyncpg.Pool) -> None:
    """Uninstall in BigCommerce: disconnected, ChannelDisconnected, token erased, never used again."""
    sandbox = rig.sandbox
    await sandbox.drain()  # the status webhooks of the write-backs have all been delivered
    # Uninstall right after a poll of the store has ended (its listings made, its lease handed back):
    # the next is due a poll interval later, so any request logged after the cutoff is one the
    # connector sent with the revoked token.
    listings = order_listings(sandbox, shop.hash)
    await wait_until(lambda: order_listings(sandbox, shop.hash) > listings, "a poll of the store")

    async def poll_ended() -> bool:
        owner = await pool.fetchval(
            "SELECT poll_lease_owner FROM channels WHERE id = $1", uuid.UUID(shop.channel_id)
        )
        return owner is None

    await wait_until(poll_ended, "the poll to end")
    cutoff = len(sandbox.requests(shop.hash))
    async with rig.http.post(
        f"{sandbox.base_url}/marketplace/uninstall", data={"store": shop.hash}, allow_redirects=False
    ) as response:
        assert response.status == 303
    callback = sandbox.callback_calls[-1]
    assert callback.url == sandbox.config.uninstall_callback_url
    assert callback.status in (200, 204)

    (disconnected,) = await rig.tap.wait_for("ChannelDisconnected", channel_id=shop.channel_id)
    assert disconnected.routing_key == "bigcommerce.channel.disconnected"
    assert (disconnected.body["store_hash"], disconnected.body["status"]) == (shop.hash, "disconnected")
    status, shown = await rig.api("GET", f"/api/v1/channels/{shop.channel_id}")
    assert (status, shown["status"]) == (200, "disconnected")
    token = await pool.fetchval(
        "SELECT access_token_encrypted FROM channels WHERE id = $1", uuid.UUID(shop.channel_id)
    )
    assert token is None

    # the poller and the writer keep cycling (the quiet store is still polled), never for this store
    quiet_listings, flushes = order_listings(sandbox, quiet_hash), await flush_count(rig)
    await wait_until(
        lambda: order_listings(sandbox, quiet_hash) >= quiet_listings + 2, "two more polls of the quiet store"
    )
    await wait_for_flushes(rig, flushes + 2)
    assert sandbox.requests(shop.hash)[cutoff:] == []


async def _reinstall_and_check(rig: Rig, shop: Shop) -> None:
    """Installing again reconnects the same channel with its settings, and orders download again."""
    again = await install(rig, shop.hash)  # the same link (CONTRACT §4); the channel is active again at once
    assert (again["id"], again["trading_name"]) == (shop.channel_id, "Zoë's Shop")
    await rig.tap.wait_for("ChannelConnected", 2, channel_id=shop.channel_id)
    new = rig.sandbox.add_order(shop.hash, [LineSpec(name="Apron", weight="0.2")])
    downloaded = await rig.tap.wait_for("OrderDownloaded", len(shop.eligible) + 1, channel_id=shop.channel_id)
    assert sorted(d.body["order"]["order_id"] for d in downloaded) == sorted([*shop.eligible, new.id])


async def test_install_download_despatch_and_uninstall_through_the_real_services(
    rig: Rig, pool: asyncpg.Pool
) -> None:
    sandbox = rig.sandbox
    store = sandbox.create_store(
        "e2eshop", name="Zoë's Sandbox Shop", weight_units="Kilograms", plan_name="Pro"
    )
    orders = _orders(sandbox, store.hash)
    # a second store, without orders: its polls show that the poller's cycles go on
    quiet = sandbox.create_store("e2equiet", name="Quiet Store")

    shop = await _install_and_activate(rig, store.hash, orders)
    quiet_channel = await install(rig, quiet.hash)
    await activate(rig, quiet_channel["id"], "Quiet")

    await _check_downloads(rig, shop)
    await _despatch_and_check_shipments(rig, shop)
    await _check_dead_letter_and_repeat(rig, shop)
    await _uninstall_and_check(rig, shop, quiet.hash, pool)
    await _reinstall_and_check(rig, shop)

    await rig.tap.pump()
    _assert_contract_properties(rig.tap.received)
    assert not rig.tap.of("OrderDownloaded", store_hash=quiet.hash)
    # nothing here warrants an error from BigCommerce: every request and webhook delivery succeeded
    for store_hash in (shop.hash, quiet.hash):
        refused = [r for r in sandbox.requests(store_hash) if r.status is None or r.status >= 300]
        assert refused == []
    assert sandbox.deliveries
    assert [d for d in sandbox.deliveries if d.status != 200] == []

    # SIGTERM: every process drains and exits 0
    codes = await rig.services.stop()
    assert codes == {"auth-gateway": 0, "order-poller": 0, "status-writer": 0}
    secrets = (*rig.secrets, *(t.value for t in sandbox.tokens.values()))
    for service in rig.services.all:
        lines = [line for line in service.log_text().splitlines() if line.strip()]
        assert lines, f"{service.command} logged nothing"
        for line in lines:
            assert isinstance(json.loads(line), dict), line  # LOG_FORMAT=json: one object per line
            assert not [s for s in secrets if s in line], f"{service.command} logged a secret: {line}"
