"""The merchant's guide walked in Chromium against the three real services and the sandbox store.

Marketplace, Install, Confirm, "App installed", the settings page, "Update and activate"; the orders
download (internal API and the store's order view); Click & Drop despatches one; the store view shows
it Completed with its tracking link; Uninstall; Install again. The sandbox's pages must pass axe-core;
the gateway's pages are checked too and their findings printed (they are being rebuilt).
"""

from __future__ import annotations

import json
from typing import Any

from bigcommerce_sandbox import AddressSpec, LineSpec, Order
from playwright.async_api import Page, expect

from tests.integration.e2e.actions import despatch, publish
from tests.integration.e2e.rig import Rig, wait_until
from tests.support.browser.accessibility import assert_accessible, axe_violations, describe
from tests.support.browser.gateway_pages import InstalledPage
from tests.support.browser.plugin import Steps
from tests.support.browser.sandbox_pages import Marketplace, StoreOrders

STORE = "walkshop"
TRADING_NAME = "Walk & Co"


class GatewayFindings:
    """axe-core's serious and critical findings on the gateway's pages, by page: reported, not failed."""

    def __init__(self) -> None:
        self.found: dict[str, list[dict[str, Any]]] = {}

    async def check(self, page: Page, name: str) -> None:
        self.found[name] = await axe_violations(page)

    def report(self) -> str:
        return "\n".join(f"{name}:\n{describe(v) or '  none'}" for name, v in self.found.items())


async def _install(marketplace: Marketplace, page: Page, steps: Steps, label: str) -> InstalledPage:
    await marketplace.open()
    await assert_accessible(page)
    await steps.shot(page, f"{label}-marketplace")
    await marketplace.install()
    await assert_accessible(page)
    await steps.shot(page, f"{label}-permissions")
    await marketplace.confirm()
    installed = InstalledPage(page)
    await installed.expect_shown()
    await steps.shot(page, f"{label}-app-installed")
    return installed


async def _channel(rig: Rig) -> dict[str, Any]:
    status, channels = await rig.api("GET", "/api/v1/channels")
    assert status == 200
    (channel,) = [c for c in channels if c["store_hash"] == STORE]
    assert isinstance(channel, dict)
    return channel


async def _wait_for_status(orders: StoreOrders, order_id: int, wanted: str) -> None:
    """Reload the store's order list until the order shows `wanted` (the writer flushes on its own)."""

    async def shown() -> bool:
        await orders.open()
        return await orders.status(order_id) == wanted

    await wait_until(shown, f"order {order_id} {wanted} in the store view", timeout_s=30)


async def _despatch(rig: Rig, channel_id: str, order: Order, tracking: str) -> None:
    """Click & Drop prints the label: one OrderDespatched on the bus, as CONTRACT §3 shows it."""
    event = despatch(channel_id, STORE, order.id, tracking_number=tracking)
    await publish(rig, json.dumps(event).encode(), event["event_id"])


async def test_the_merchants_guide_in_a_browser(rig: Rig, page: Page, steps: Steps) -> None:
    sandbox = rig.sandbox
    sandbox.create_store(STORE, name="Walk Shop", rate_quota=10_000)
    tea_towel = sandbox.add_order(STORE, [LineSpec(name="Tea towel", quantity=2)])
    candles = sandbox.add_order(
        STORE,
        [LineSpec(name="Candle", address=0), LineSpec(name="Soap", address=1)],
        addresses=[AddressSpec(), AddressSpec()],
    )
    sandbox.add_order(STORE, [LineSpec(name="E-book", type="digital")])
    gateway = GatewayFindings()
    marketplace = Marketplace(page, sandbox.base_url, STORE)

    # Install from the marketplace, confirm, and land on "App installed"
    installed = await _install(marketplace, page, steps, "install")
    await gateway.check(page, "App installed")
    settings = await installed.open_settings()
    await gateway.check(page, "Settings (pending)")
    await steps.shot(page, "settings-pending")
    row = await settings.channel_row()
    assert (row["Channel"], row["Store name"], row["Status"]) == (
        "BigCommerce",
        "Walk Shop",
        "Not yet active",
    )

    # "Update and activate" with the guide's required trading name
    await settings.fill(trading_name=TRADING_NAME)
    message = await settings.update_and_activate()
    assert "active" in message
    assert await settings.status() == "Active"
    await gateway.check(page, "Settings (active)")
    await steps.shot(page, "settings-active")

    # the orders download: the internal API and the store's order view show it
    await rig.tap.wait_for("OrderDownloaded", 2, store_hash=STORE)
    channel = await _channel(rig)
    assert (channel["status"], channel["trading_name"]) == ("active", TRADING_NAME)

    async def downloaded() -> bool:
        return (await _channel(rig))["last_download_at"] is not None

    await wait_until(downloaded, "last_download_at in the internal API")
    await marketplace.open()
    orders = await marketplace.open_orders()
    for order in (tea_towel, candles):
        assert await orders.status(order.id) == "Awaiting Shipment"
        await expect(orders.row(order.id)).to_contain_text("last")  # the app's requests about it
    await assert_accessible(page)
    await steps.shot(page, "store-orders-downloaded")

    # Click & Drop despatches the tea towel; the next flush completes it in the store
    await _despatch(rig, channel["id"], tea_towel, "TT123456785GB")
    await _wait_for_status(orders, tea_towel.id, "Completed")
    assert await orders.status(candles.id) == "Awaiting Shipment"
    await orders.open_order(tea_towel.id)
    links = await orders.tracking_links()
    assert links == {
        "TT123456785GB": "https://www.royalmail.com/track-your-item#/tracking-results/TT123456785GB"
    }
    await assert_accessible(page)
    await steps.shot(page, "store-order-completed")

    # Uninstall in BigCommerce disconnects the channel
    await marketplace.open()
    await marketplace.uninstall()
    await expect(marketplace.action("Install")).to_be_visible()
    await assert_accessible(page)
    await steps.shot(page, "uninstalled")
    await rig.tap.wait_for("ChannelDisconnected", store_hash=STORE)
    assert (await _channel(rig))["status"] == "disconnected"

    # Install again: the same channel, its settings kept, active again at once
    installed = await _install(marketplace, page, steps, "reinstall")
    settings = await installed.open_settings()
    row = await settings.channel_row()
    assert (row["Trading name"], row["Status"]) == (TRADING_NAME, "Active")
    await gateway.check(page, "Settings (reinstalled)")
    await steps.shot(page, "settings-reinstalled")
    again = await _channel(rig)
    assert (again["id"], again["status"]) == (channel["id"], "active")

    print(f"gateway pages, serious and critical accessibility findings:\n{gateway.report()}")
