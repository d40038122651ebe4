"""The demo settings pages in Chromium: every page in every state passes axe-core, keyboard-only use,
reload after a form, Cancel, the confirmation steps, Retry, long names and an oversized form."""

from __future__ import annotations

from datetime import UTC, datetime

from common.db.despatches import record_despatch
from common.events import OrderDespatched
from playwright.async_api import Page, expect

from tests.support.auth_gateway import GatewayRig
from tests.support.browser.accessibility import assert_accessible
from tests.support.browser.gateway_pages import (
    GUIDE_COLUMNS,
    INSTALLED_LINK,
    DeletedPage,
    InstalledPage,
    SettingsPage,
)
from tests.support.browser.plugin import Steps


async def _launch(rig: GatewayRig, page: Page, store_hash: str) -> SettingsPage:
    """BigCommerce's Launch, followed in the browser: the settings page through its launch session."""
    channel_id, launch = await rig.launch(store_hash)
    await page.goto(f"{rig.base_url}/channels/{channel_id}/settings?launch={launch}")
    settings = SettingsPage(page)
    await settings.expect_shown()
    return settings


async def test_every_page_in_every_state_passes_axe(rig: GatewayRig, page: Page, steps: Steps) -> None:
    store = rig.create_store(name="Axe Shop")
    await page.goto(rig.sandbox.authorize(store.hash).url)  # Confirm's redirect to the auth callback
    installed = InstalledPage(page)
    await installed.expect_shown()
    await assert_accessible(page)
    settings = await installed.open_settings()
    row = await settings.channel_row()
    assert list(row) == GUIDE_COLUMNS
    assert (row["Channel"], row["Store name"], row["Status"]) == ("BigCommerce", "Axe Shop", "Not yet active")
    await assert_accessible(page)
    await steps.shot(page, "pending")

    await settings.fill(trading_name="")
    assert "Nothing was changed" in await settings.update_and_activate()
    assert await settings.field_error("Trading name") == "Trading name is required to activate the channel"
    await assert_accessible(page)
    await steps.shot(page, "refused")

    await settings.fill(trading_name="Axe & Co")
    assert "active" in await settings.update_and_activate()
    assert await settings.status() == "Active"
    await assert_accessible(page)

    confirmation = await settings.disconnect_store()
    assert await confirmation.heading() == "Disconnect Axe Shop?"
    await assert_accessible(page)
    await confirmation.confirm("Disconnect Store")
    await settings.expect_shown()
    assert await settings.state() == "Disconnected: click Update and activate to reconnect"
    await assert_accessible(page)
    await steps.shot(page, "disconnected")

    channel_id = (await rig.channel_row(store.hash))["id"]  # type: ignore[index]
    await rig.pool.execute(
        "UPDATE channels SET status = 'reauthorization_required' WHERE id = $1", channel_id
    )
    await page.reload()
    assert await settings.status() == "Reconnection needed"
    await assert_accessible(page)
    await steps.shot(page, "reconnection-needed")

    await rig.pool.execute("UPDATE channels SET status = 'active' WHERE id = $1", channel_id)
    await rig.sandbox.uninstall_and_notify(store.hash)
    await page.reload()
    assert await settings.state() == "Disconnected: install the app again in BigCommerce"
    await assert_accessible(page)
    await steps.shot(page, "uninstalled")

    confirmation = await settings.delete()
    await assert_accessible(page)
    await confirmation.confirm("Delete channel")
    deleted = DeletedPage(page)
    await deleted.expect_shown()
    await expect(deleted.onward()).to_have_attribute("href", rig.settings.bigcommerce_control_panel_url)
    await assert_accessible(page)
    await steps.shot(page, "deleted")

    await page.goto(f"{rig.base_url}/channels/{channel_id}/settings")  # the session ended with it
    await expect(page).to_have_title("Open Click & Drop from BigCommerce")
    await assert_accessible(page)


async def test_a_reinstall_retry_and_an_oversized_form(rig: GatewayRig, page: Page) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    event = OrderDespatched(
        channel_id=channel_id, store_hash=store.hash, order_id=101, despatched_at=datetime.now(UTC)
    )
    async with rig.pool.acquire() as conn:
        await record_despatch(conn, event)
    await rig.pool.execute("UPDATE despatches SET state = 'failed', reason = 'order 101 was not found'")
    await page.goto(rig.sandbox.authorize(store.hash).url)
    installed = InstalledPage(page)
    await installed.expect_shown()
    assert await installed.link_text() == INSTALLED_LINK  # CONTRACT §4's link on every install
    assert "connected to your BigCommerce store again" in await installed.notice_text()
    await assert_accessible(page)

    settings = await installed.open_settings()
    await expect(settings.failed_write_back(101)).to_contain_text("order 101 was not found")
    await assert_accessible(page)
    assert "queued again" in await settings.retry(101)
    await expect(settings.failed_write_back(101)).to_have_count(0)
    assert (await settings.sync())["Despatches waiting to be written back"] == "1"

    # more than MAX_BODY_BYTES, past the field's maxlength as only a forged form could be
    await settings.field("Trading name").evaluate(
        "(el, n) => { el.removeAttribute('maxlength'); el.value = 'x'.repeat(n); }",
        rig.settings.max_body_bytes + 1,
    )
    await settings.button("Update").click()
    await expect(page).to_have_title("Too much text")
    await assert_accessible(page)
    await page.get_by_role("link", name="Back to the settings page").click()
    await settings.expect_shown()
    assert await settings.value("Trading name") == "Your Company"


async def test_the_form_works_with_the_keyboard_alone_and_long_names_wrap(
    rig: GatewayRig, page: Page
) -> None:
    store = rig.create_store(name="W" * 100)  # the longest store name, one unbreakable word
    await rig.installed_channel(store.hash)
    settings = await _launch(rig, page, store.hash)

    # Tab order from the top of the page: skip link, then the form's controls in the guide's order
    order: list[str] = []
    while "Disconnect Store" not in order and len(order) < 20:
        await page.keyboard.press("Tab")
        order.append(
            await page.evaluate(
                "() => { const e = document.activeElement;"
                " return (e.labels && e.labels[0] ? e.labels[0].innerText : e.innerText).trim(); }"
            )
        )
    assert order[0] == "Skip to content"
    wanted = ["Trading name *", "Store name *", "Mark orders as despatched", "Cancel", "Update and activate"]
    assert [name for name in order if name in wanted] == wanted
    assert order.index("Update and activate") < order.index("Delete") < order.index("Update")
    assert order.index("Update") < order.index("Disconnect Store")

    # type a trading name, untick the box and activate, without the mouse
    await page.keyboard.press("Shift+Tab")  # back to the top and down again: focus the first field
    await settings.field("Trading name").focus()
    await page.keyboard.type("Keyed & Co")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Space")
    await page.keyboard.press("Tab")  # Cancel
    await page.keyboard.press("Tab")  # Update and activate
    outline = await page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible
    await page.keyboard.press("Enter")
    await settings.expect_shown()
    assert await settings.status() == "Active"
    row = await rig.channel_row(store.hash)
    assert row is not None
    assert (row["trading_name"], row["mark_orders_as_despatched"]) == ("Keyed & Co", False)

    # long names wrap inside the page, also on a narrow window
    await page.set_viewport_size({"width": 800, "height": 900})
    widths = await page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths


async def test_reload_after_a_form_sends_nothing_and_cancel_discards_the_typing(
    rig: GatewayRig, page: Page
) -> None:
    store = rig.create_store()
    await rig.installed_channel(store.hash)
    settings = await _launch(rig, page, store.hash)
    await settings.fill(trading_name="First")
    assert await settings.update() == "Settings saved."
    await rig.pool.execute(
        "UPDATE channels SET trading_name = 'Changed elsewhere' WHERE store_hash = $1", store.hash
    )
    await page.reload()
    await settings.expect_shown()
    assert await settings.message() == ""  # shown once
    assert await settings.value("Trading name") == "Changed elsewhere"  # the form was not sent again
    assert (await rig.channel_row(store.hash))["trading_name"] == "Changed elsewhere"  # type: ignore[index]

    await settings.fill(trading_name="Never saved")
    await settings.cancel()
    assert await settings.value("Trading name") == "Changed elsewhere"
    assert (await rig.channel_row(store.hash))["trading_name"] == "Changed elsewhere"  # type: ignore[index]

    # the confirmation's Cancel changes nothing either
    confirmation = await settings.delete()
    await confirmation.cancel()
    assert await rig.channel_row(store.hash) is not None
