"""The merchant's guide walked in Chromium against the three real services and the sandbox store.

Marketplace, Install, Confirm, "App installed", the settings page, a refused "Update and activate"
(what was typed stays), "Update and activate"; the orders download (the Sync panel and the store's
order view); Click & Drop despatches one and the store view shows it Completed with its tracking link;
a write-back BigCommerce refuses shows with its reason, and Retry writes it; "Disconnect Store"
(confirmed), then "Update and activate" reconnects; Uninstall; Install again. Every page, the
sandbox's and the gateway's, must pass axe-core.
"""

from __future__ import annotations

import json
from typing import Any

from bigcommerce_sandbox import AddressSpec, Fault, LineSpec, Order
from playwright.async_api import Page, expect

from tests.integration.e2e.actions import despatch, flush_count, publish, wait_for_flushes
from tests.integration.e2e.rig import Rig, wait_until
from tests.support.browser.accessibility import assert_accessible
from tests.support.browser.gateway_pages import INSTALLED_LINK, InstalledPage, SettingsPage
from tests.support.browser.plugin import Steps
from tests.support.browser.sandbox_pages import Marketplace, StoreOrders

STORE = "walkshop"
TRADING_NAME = "Walk & Co"


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
    await assert_accessible(page)
    await steps.shot(page, f"{label}-app-installed")
    return installed


async def _launch(marketplace: Marketplace) -> SettingsPage:
    """The marketplace's Launch: BigCommerce's load callback opens the channel's settings page."""
    await marketplace.open()
    await marketplace.action("Launch").click()
    settings = SettingsPage(marketplace.page)
    await settings.expect_shown()
    return settings


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


async def _wait_for_sync(settings: SettingsPage, what: str, wanted: str) -> dict[str, str]:
    """Reload the settings page until its Sync panel says `wanted` about `what`."""
    facts: dict[str, str] = {}

    async def shown() -> bool:
        nonlocal facts
        await settings.page.reload()
        facts = await settings.sync()
        return facts[what] == wanted

    await wait_until(shown, f"Sync: {what} = {wanted}", timeout_s=30)
    return facts


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
    marketplace = Marketplace(page, sandbox.base_url, STORE)

    # Install from the marketplace, confirm, and land on "App installed"
    installed = await _install(marketplace, page, steps, "install")
    assert await installed.link_text() == INSTALLED_LINK
    settings = await installed.open_settings()
    await assert_accessible(page)
    await steps.shot(page, "settings-pending")
    row = await settings.channel_row()
    assert (row["Channel"], row["Store name"], row["Country"], row["Status"]) == (
        "BigCommerce",
        "Walk Shop",
        "United Kingdom",
        "Not yet active",
    )

    # A refused "Update and activate": the store name emptied; the trading name typed stays
    await settings.fill(trading_name=TRADING_NAME, store_name="")
    assert "Nothing was changed" in await settings.update_and_activate()
    assert await settings.field_error("Store name") == "Store name is required to activate the channel"
    assert await settings.value("Trading name") == TRADING_NAME
    assert await settings.status() == "Not yet active"
    await assert_accessible(page)
    await steps.shot(page, "settings-refused")

    # "Update and activate" with the guide's required fields
    await settings.fill(store_name="Walk Shop")
    assert "active" in await settings.update_and_activate()
    assert await settings.status() == "Active"
    await assert_accessible(page)
    await steps.shot(page, "settings-active")

    # the orders download: the Sync panel counts them, the digital one with its reason
    await rig.tap.wait_for("OrderDownloaded", 2, store_hash=STORE)
    facts = await _wait_for_sync(settings, "Orders downloaded", "2")
    assert facts["Orders not downloaded"] == "1 1 only digital items, nothing to post"
    assert facts["Last download"] != "Not yet"
    channel = await _channel(rig)
    assert (channel["status"], channel["trading_name"]) == ("active", TRADING_NAME)
    await assert_accessible(page)
    await steps.shot(page, "settings-orders-downloaded")
    await marketplace.open()
    orders = await marketplace.open_orders()
    for order in (tea_towel, candles):
        assert await orders.status(order.id) == "Awaiting Shipment"
        # the listing carried the order with its lines: no request of its own about it yet
        await expect(orders.row(order.id)).not_to_contain_text("last at")
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

    # BigCommerce refuses the candles' shipment once: the Sync panel shows why; Retry writes it
    refusal = sandbox.faults(STORE).add(
        Fault(
            kind="status", status=422, times=1, method="POST", path_pattern=rf"/orders/{candles.id}/shipments"
        )
    )
    await _despatch(rig, channel["id"], candles, "TT223456785GB")
    settings = await _launch(marketplace)
    failed = settings.failed_write_back(candles.id)

    async def refused() -> bool:
        await page.reload()
        return await failed.count() == 1

    await wait_until(refused, "the refused write-back on the settings page", timeout_s=30)
    assert refusal.fired == 1
    await expect(failed).to_contain_text("TT223456785GB")
    await assert_accessible(page)
    await steps.shot(page, "settings-write-back-failed")
    assert "queued again" in await settings.retry(candles.id)
    await _wait_for_status(orders, candles.id, "Completed")
    await steps.shot(page, "store-order-retried")

    # "Disconnect Store", confirmed: the app stays installed, the page offers the way back
    settings = await _launch(marketplace)
    confirmation = await settings.disconnect_store()
    await assert_accessible(page)
    await steps.shot(page, "disconnect-confirm")
    await confirmation.confirm("Disconnect Store")
    await settings.expect_shown()
    assert await settings.status() == "Disconnected"
    assert await settings.state() == "Disconnected: click Update and activate to reconnect"
    await expect(settings.button("Disconnect Store")).to_have_count(0)
    await assert_accessible(page)
    await steps.shot(page, "settings-disconnected")
    await rig.tap.wait_for("ChannelDisconnected", store_hash=STORE)
    # within seconds no request carries its token, though the grant is kept: the poller (every 1-2 s
    # here) and the writer keep cycling for two more flushes without touching the store
    flushes = await flush_count(rig)
    await wait_for_flushes(rig, flushes + 1)  # a request already under way has finished
    cutoff = len(sandbox.requests(STORE))
    await wait_for_flushes(rig, flushes + 3)
    assert sandbox.requests(STORE)[cutoff:] == []
    await marketplace.open()
    await expect(marketplace.action("Launch")).to_be_visible()  # still installed in BigCommerce

    # Launch opens the disconnected channel's page; "Update and activate" reconnects at once
    settings = await _launch(marketplace)
    assert "Reconnected" in await settings.update_and_activate()
    assert await settings.status() == "Active"
    await rig.tap.wait_for("ChannelActivated", 2, store_hash=STORE)
    assert (await _channel(rig))["status"] == "active"
    await steps.shot(page, "settings-reconnected")

    # Uninstall in BigCommerce disconnects the channel
    await marketplace.open()
    await marketplace.uninstall()
    await expect(marketplace.action("Install")).to_be_visible()
    await assert_accessible(page)
    await steps.shot(page, "uninstalled")
    await rig.tap.wait_for("ChannelDisconnected", 2, store_hash=STORE)
    assert (await _channel(rig))["status"] == "disconnected"

    # Install again: the same channel, its settings kept, active again at once
    installed = await _install(marketplace, page, steps, "reinstall")
    assert await installed.link_text() == INSTALLED_LINK
    assert "connected to your BigCommerce store again" in await installed.notice_text()
    settings = await installed.open_settings()
    row = await settings.channel_row()
    assert (row["Trading name"], row["Status"]) == (TRADING_NAME, "Active")
    await assert_accessible(page)
    await steps.shot(page, "settings-reinstalled")
    again = await _channel(rig)
    assert (again["id"], again["status"]) == (channel["id"], "active")
