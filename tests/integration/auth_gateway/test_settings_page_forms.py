"""The demo settings pages' forms over HTTP: post/redirect/get, refusals that keep what was typed,
confirmation steps, each state's way out, Retry, and an oversized form."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import aiohttp
from auth_gateway.page_sessions import SESSION_COOKIE
from auth_gateway.pages.installed import INSTALLED_LINK_TEXT
from common.db.despatches import record_despatch
from common.events import OrderDespatched
from yarl import URL

from tests.support.auth_gateway import GatewayRig


class PageSession:
    """One browser's session on a channel's settings page."""

    def __init__(
        self, rig: GatewayRig, browser: aiohttp.ClientSession, channel_id: uuid.UUID, csrf: str
    ) -> None:
        self.rig, self.browser, self.csrf = rig, browser, csrf
        self.url = f"{rig.base_url}/channels/{channel_id}/settings"

    async def get(self, path: str = "") -> tuple[int, str]:
        async with self.browser.get(self.url + path, allow_redirects=False) as response:
            return response.status, await response.text()

    async def post(self, path: str = "", **form: str) -> tuple[int, str]:
        """A form with the session's CSRF token; returns (status, Location)."""
        data = {"csrf_token": self.csrf, **form}
        async with self.browser.post(self.url + path, data=data, allow_redirects=False) as response:
            return response.status, response.headers.get("Location", "")

    async def submit(self, path: str = "", **form: str) -> str:
        """Post, check the answer is a redirect to a GET, and return the page it leads to."""
        status, location = await self.post(path, **form)
        assert status == 303, status
        async with self.browser.get(URL(self.url).join(URL(location)), allow_redirects=False) as response:
            assert response.status == 200, response.status
            return await response.text()


async def _open(rig: GatewayRig, browser: aiohttp.ClientSession, store_hash: str) -> PageSession:
    channel_id, launch = await rig.launch(store_hash)
    return PageSession(rig, browser, channel_id, await rig.open_settings(browser, channel_id, launch))


async def test_forms_redirect_and_a_refusal_keeps_what_was_typed(rig: GatewayRig) -> None:
    store = rig.create_store(name="<script>alert(1)</script>")
    await rig.installed_channel(store.hash)
    async with rig.browser() as browser:
        page = await _open(rig, browser, store.hash)
        _, html = await page.get()
        assert "<script>" not in html
        assert "&lt;script&gt;" in html
        for text in ("Connection expires", "Trading name", "Store name", "Mark orders as despatched"):
            assert text in html
        for button in ("Cancel", "Update and activate", "Delete", "Update", "Disconnect Store"):
            assert f">{button}</" in html
        assert "Not yet active: check your settings" in html

        # refused: nothing changes, the page comes back once with the message beside the field
        html = await page.submit(action="activate", trading_name="", store_name="Typed Store")
        assert 'id="trading_name-error">Trading name is required to activate the channel<' in html
        assert 'value="Typed Store"' in html  # what was typed, not what is stored
        assert 'aria-invalid="true"' in html
        row = await rig.channel_row(store.hash)
        assert row is not None
        assert (row["status"], row["store_name"]) == ("pending", "<script>alert(1)</script>")
        _, again = await page.get()  # a reload: shown once, and nothing is sent again
        assert "Trading name is required" not in again
        assert 'value="Typed Store"' not in again

        html = await page.submit(action="activate", trading_name="Your\x00Company", store_name="S")
        assert "Trading name must not contain NUL" in html
        assert 'value="Your\ufffdCompany"' in html
        html = await page.submit(action="activate", trading_name="x" * 101, store_name="S")
        assert "Trading name must be 100 characters or fewer" in html
        assert (await rig.channel_row(store.hash))["status"] == "pending"  # type: ignore[index]

        html = await page.submit(action="activate", trading_name="Your Company", store_name="BigCommerce")
        assert "Your channel is active" in html
        assert "Active: your orders are downloading" in html
        row = await rig.channel_row(store.hash)
        assert row is not None
        # the checkbox was not sent: unticked
        assert (row["status"], row["trading_name"], row["mark_orders_as_despatched"]) == (
            "active",
            "Your Company",
            False,
        )

        # an active channel keeps its required names: the whole change is refused, the typing kept
        html = await page.submit(
            action="update", trading_name="", store_name="Renamed", mark_orders_as_despatched="on"
        )
        assert "Trading name is required while the channel is active" in html
        assert 'value="Renamed"' in html
        assert 'name="mark_orders_as_despatched" value="on" aria-describedby="mark-hint" checked' in html
        row = await rig.channel_row(store.hash)
        assert row is not None
        assert (row["store_name"], row["mark_orders_as_despatched"]) == ("BigCommerce", False)

        html = await page.submit(action="update", trading_name="T2", store_name="S2")
        assert "Settings saved." in html
        html = await page.submit(action="launch-missiles")
        assert "That button is not on this page any more" in html
        html = await page.submit(action="update")  # not the page's form: its fields are missing
        assert "The form was incomplete" in html
        assert (await rig.channel_row(store.hash))["trading_name"] == "T2"  # type: ignore[index]


async def test_disconnect_store_and_delete_ask_first_and_reconnect_works_from_the_page(
    rig: GatewayRig,
) -> None:
    store = rig.create_store(name="Confirm Shop")
    channel_id = await rig.active_channel(store.hash)
    async with rig.browser() as browser:
        page = await _open(rig, browser, store.hash)

        status, html = await page.get("/disconnect")  # the confirmation step changes nothing
        assert status == 200
        assert "Disconnect Confirm Shop?" in html
        assert (await rig.channel_row(store.hash))["status"] == "active"  # type: ignore[index]
        assert (await page.post("/disconnect", csrf_token="forged"))[0] == 403

        html = await page.submit("/disconnect")
        assert "Store disconnected" in html
        assert "Disconnected: click Update and activate to reconnect" in html
        assert ">Disconnect Store<" not in html  # nothing left to disconnect
        assert "Update and activate</button>" in html  # the way out, which works
        # the confirmation of a disconnected channel leads back to its page
        async with browser.get(f"{page.url}/disconnect", allow_redirects=False) as response:
            assert response.status == 303

        html = await page.submit(action="activate", trading_name="Your Company", store_name="Confirm Shop")
        assert "Reconnected: your channel is active again" in html
        assert (await rig.channel_row(store.hash))["status"] == "active"  # type: ignore[index]

        status, html = await page.get("/delete")
        assert status == 200
        assert "Delete Confirm Shop?" in html
        async with browser.post(
            f"{page.url}/delete", data={"csrf_token": page.csrf}, allow_redirects=False
        ) as response:
            assert response.status == 303
            assert response.headers["Location"] == f"/channels/{channel_id}/settings/deleted"
            assert response.cookies[SESSION_COOKIE].value == ""  # the session ends with its channel
        assert await rig.channel_row(store.hash) is None
        status, html = await page.get("/deleted")
        assert status == 200
        assert "<title>Channel deleted</title>" in html
        assert 'class="notice"' in html
        assert f'href="{rig.settings.bigcommerce_control_panel_url}" target="_top"' in html  # the way on
        assert (await page.get())[0] == 403  # a reload of the old page opens nothing


async def test_deleted_is_said_only_of_a_channel_that_is_gone(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.installed_channel(store.hash)
    async with rig.http.get(
        f"{rig.base_url}/channels/{channel_id}/settings/deleted", allow_redirects=False
    ) as response:
        assert response.status == 303
        assert response.headers["Location"] == f"/channels/{channel_id}/settings"


async def test_each_state_offers_only_the_way_out_that_works(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    async with rig.browser() as browser:
        page = await _open(rig, browser, store.hash)
        await rig.pool.execute(
            "UPDATE channels SET status = 'reauthorization_required' WHERE id = $1", channel_id
        )
        _, html = await page.get()
        assert "Reconnection needed: open the app in BigCommerce" in html
        assert 'aria-label="Reconnection needed"' in html
        assert "Update and activate</button>" not in html
        assert f'href="{rig.settings.bigcommerce_control_panel_url}" target="_top"' in html

        await rig.pool.execute("UPDATE channels SET status = 'active' WHERE id = $1", channel_id)
        await rig.sandbox.uninstall_and_notify(store.hash)
        _, html = await page.get()
        assert "Disconnected: install the app again in BigCommerce" in html
        assert "Update and activate</button>" not in html
        assert ">Disconnect Store<" not in html
        assert ">Update</button>" in html
        assert ">Delete</a>" in html
        # a form of the page as it was: refused with the reason, nothing changed
        html = await page.submit(action="activate", trading_name="Your Company", store_name="S")
        assert "install the app again" in html
        assert (await rig.channel_row(store.hash))["status"] == "disconnected"  # type: ignore[index]


async def test_retry_of_a_failed_write_back_from_the_page(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    event = OrderDespatched(
        channel_id=channel_id,
        store_hash=store.hash,
        order_id=101,
        despatched_at=datetime.now(UTC),
        tracking_number="TT123456785GB",
    )
    async with rig.pool.acquire() as conn:
        await record_despatch(conn, event)
    await rig.pool.execute(
        "UPDATE despatches SET state = 'failed', reason = 'The field tracking_number is <invalid>.'"
    )
    async with rig.browser() as browser:
        page = await _open(rig, browser, store.hash)
        _, html = await page.get()
        assert "The field tracking_number is &lt;invalid&gt;." in html
        assert "TT123456785GB" in html
        assert 'Retry<span class="visually-hidden"> order #101</span>' in html

        html = await page.submit("/retry", order_id="101")
        assert "Order #101 is queued again" in html
        assert await rig.pool.fetchval("SELECT state FROM despatches") == "pending"
        assert "None: every despatch" in html
        html = await page.submit("/retry", order_id="101")  # a second tab's click
        assert "Order #101 has no failed write-back now" in html
        for bad in ("", "abc", "0", "-1", "99999999999999999999", "\u0661\u0660\u0661"):
            assert "No such order" in await page.submit("/retry", order_id=bad)
        assert (await page.post("/retry", order_id="101", csrf_token="forged"))[0] == 403


async def test_an_oversized_form_gets_a_page_and_changes_nothing(rig: GatewayRig) -> None:
    store = rig.create_store()
    await rig.installed_channel(store.hash)
    async with rig.browser() as browser:
        page = await _open(rig, browser, store.hash)
        big = "x" * (rig.settings.max_body_bytes + 1)
        data = {"csrf_token": page.csrf, "action": "update", "trading_name": big}
        async with browser.post(page.url, data=data, allow_redirects=False) as response:
            assert response.status == 413
            assert response.content_type == "text/html"
            html = await response.text()
        assert "<title>Too much text</title>" in html
        assert f'href="/channels/{page.url.rsplit("/", 2)[1]}/settings"' in html
    assert (await rig.channel_row(store.hash))["trading_name"] == ""  # type: ignore[index]


async def test_a_reinstall_of_an_active_channel_says_it_is_active_again(rig: GatewayRig) -> None:
    store = rig.create_store()
    await rig.active_channel(store.hash)
    callback = rig.sandbox.authorize(store.hash)
    async with rig.http.get(callback.url) as response:
        html = await response.text()
    assert "App installed" in html
    assert "connected to your BigCommerce store again" in html
    assert "start to download once you activate" not in html
    assert f">{INSTALLED_LINK_TEXT}</a>" in html  # CONTRACT §4's link, on every install
