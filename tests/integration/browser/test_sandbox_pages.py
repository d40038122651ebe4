"""The sandbox's own pages in Chromium: marketplace, consent and store view, by mouse and by keyboard, checked with axe."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest
from bigcommerce_sandbox import (
    Address,
    AddressSpec,
    AppConfig,
    LineSpec,
    Order,
    Sandbox,
    create_demo_store,
    run_sandbox,
)
from bigcommerce_sandbox.models import RequestRecord, Shipment, ShipmentItem
from playwright.async_api import Page, Route, expect

from tests.support.browser.accessibility import assert_accessible
from tests.support.browser.sandbox_pages import Marketplace, StoreOrders

# nothing listens there: the browser's visit to the app is answered by the test (page.route)
APP = AppConfig.for_base_url("http://127.0.0.1:9", "browser-client", "browser-client-secret-0123456789abcdef")


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with run_sandbox(app=APP) as served:
        create_demo_store(served, "shop1")
        yield served


async def answer_auth_callback(page: Page) -> list[str]:
    """Answer the app's auth callback in the browser; returns the URLs it was called with."""
    calls: list[str] = []

    async def fulfil(route: Route) -> None:
        calls.append(route.request.url)
        await route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>App</title>")

    await page.route(f"{APP.auth_callback_url}*", fulfil)
    return calls


def shipped_order(sandbox: Sandbox) -> Order:
    """An order with two consignments, both shipped with Royal Mail tracking, and Completed."""
    order = sandbox.add_order(
        "shop1",
        [LineSpec(name="Candle", address=0), LineSpec(name="Soap", quantity=2, address=1)],
        addresses=[AddressSpec(), AddressSpec(shipping_method="Royal Mail Tracked 24")],
    )
    for index, (address, number) in enumerate(
        zip(order.addresses, ("TT111111116GB", "TT222222224GB"), strict=True)
    ):
        line = order.lines[index]
        line.quantity_shipped = line.quantity
        order.shipments.append(
            Shipment(
                id=index + 1,
                order_id=order.id,
                order_address_id=address.id,
                date_created=sandbox.now(),
                items=[ShipmentItem(line.id, line.product_id, line.quantity)],
                tracking_number=number,
                shipping_provider="royalmail",
            )
        )
    order.status_id = 10
    return order


async def test_install_by_mouse_from_the_marketplace_to_the_apps_callback(
    sandbox: Sandbox, page: Page
) -> None:
    calls = await answer_auth_callback(page)
    marketplace = Marketplace(page, sandbox.base_url, "shop1")
    await marketplace.open()
    await assert_accessible(page)
    await marketplace.install()
    await expect(page.get_by_role("listitem")).to_contain_text(["View and modify orders"])
    await assert_accessible(page)
    await marketplace.confirm()
    await expect(page).to_have_title("App")
    (callback,) = calls
    assert parse_qs(urlsplit(callback).query)["context"] == ["stores/shop1"]

    await marketplace.open()
    await expect(marketplace.action("Launch")).to_be_visible()
    await expect(marketplace.action("Uninstall")).to_be_visible()
    await expect(marketplace.action("Install")).to_have_count(0)
    await assert_accessible(page)


async def test_install_by_keyboard_alone(sandbox: Sandbox, page: Page) -> None:
    calls = await answer_auth_callback(page)
    await Marketplace(page, sandbox.base_url, "shop1").open()
    await page.keyboard.press("Tab")
    await expect(page.locator(":focus")).to_have_text("Skip to content")
    for _ in range(10):  # on through the navigation to the app's Install
        await page.keyboard.press("Tab")
        if (await page.locator(":focus").inner_text()).strip() == "Install":
            break
    await expect(page.locator(":focus")).to_have_text("Install")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Install")
    await page.get_by_label("Signed in as").focus()  # the consent's one choice, reached by its label
    await page.keyboard.press("Tab")
    await expect(page.locator(":focus")).to_have_text("Confirm")
    await page.keyboard.press("Enter")
    await expect(page).to_have_title("App")
    assert len(calls) == 1


async def test_the_store_view_shows_an_order_completed_with_its_tracking_links(
    sandbox: Sandbox, page: Page
) -> None:
    order = shipped_order(sandbox)
    marketplace = Marketplace(page, sandbox.base_url, "shop1")
    await marketplace.open()
    orders = await marketplace.open_orders()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Orders")
    assert await orders.status(order.id) == "Completed"
    await expect(orders.row(order.id)).to_contain_text("3 of 3")
    await assert_accessible(page)

    await orders.open_order(order.id)
    assert await orders.tracking_links() == {
        "TT111111116GB": "https://www.royalmail.com/track-your-item#/tracking-results/TT111111116GB",
        "TT222222224GB": "https://www.royalmail.com/track-your-item#/tracking-results/TT222222224GB",
    }
    await expect(page.get_by_role("heading", name="Shipping addresses")).to_be_visible()
    await assert_accessible(page)
    await page.get_by_role("link", name="All orders").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Orders")


async def test_long_names_wrap_instead_of_stretching_the_page(sandbox: Sandbox, page: Page) -> None:
    long_name = "Extraordinarily" * 12  # one 180-character word
    customer = Address(
        first_name=long_name, last_name=long_name, street_1=long_name, city="Leeds", zip="LS1 1AA"
    )
    order = sandbox.add_order("shop1", [LineSpec(name=long_name)], billing=customer)
    order.shipments.append(shipped_order(sandbox).shipments[0])
    sandbox.record_request("shop1", RequestRecord("GET", f"/stores/shop1/v2/orders/{order.id}", "", 200, 0))
    orders = StoreOrders(page, sandbox.base_url, "shop1")
    await orders.open()
    assert await horizontal_overflow(page) <= 0
    await assert_accessible(page)
    await orders.open_order(order.id)
    assert await horizontal_overflow(page) <= 0
    await assert_accessible(page)


async def horizontal_overflow(page: Page) -> int:
    """How far the page is wider than the window (a long word that does not wrap makes it positive)."""
    overflow: int = await page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    return overflow
