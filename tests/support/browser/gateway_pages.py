"""The gateway's merchant pages (the demo's stand-in for Click & Drop's), as a merchant uses them.

This is the one module of the browser tests that knows those pages' markup and wording: when the
pages change, adapt it here and the walks keep reading the same. It finds things as a merchant or a
screen reader does: by role, label and accessible name.
"""

from __future__ import annotations

from dataclasses import dataclass

from playwright.async_api import Locator, Page, expect

INSTALLED_LINK = "Check your settings and activate your new channel on the channel settings page"
SETTINGS_HEADING = "Settings / Integrations"
GUIDE_COLUMNS = [
    "Channel",
    "Store name",
    "Trading name",
    "Country",
    "Username",
    "Connection expires",
    "Status",
]


@dataclass
class InstalledPage:
    """ "App installed", where the install's callback leaves the merchant."""

    page: Page

    def link(self) -> Locator:
        return self.page.get_by_role("link", name="Check your settings")

    async def expect_shown(self) -> None:
        await expect(self.page).to_have_title("App installed")
        await expect(self.link()).to_be_visible()

    async def link_text(self) -> str:
        return (await self.link().inner_text()).strip()

    async def notice_text(self) -> str:
        """What the page says happened: installed (activate the channel) or connected again (active)."""
        return (await self.page.get_by_role("status").inner_text()).strip()

    async def open_settings(self) -> SettingsPage:
        await self.link().click()
        settings = SettingsPage(self.page)
        await settings.expect_shown()
        return settings


@dataclass
class SettingsPage:
    """The channel's "Settings / Integrations" page: the guide's table and form, state, sync health."""

    page: Page

    async def expect_shown(self) -> None:
        await expect(self.page.get_by_role("heading", level=1)).to_have_text(SETTINGS_HEADING)

    # -- the guide's table ----------------------------------------------------------------------

    def _table(self) -> Locator:
        return self.page.get_by_role("table", name="Channels and stores")

    async def channel_row(self) -> dict[str, str]:
        """The channel table as header -> cell; Status is the chain icon's accessible name."""
        table = self._table()
        headers = [h.strip() for h in await table.get_by_role("columnheader").all_inner_texts()]
        cells = table.get_by_role("row").nth(1).get_by_role("cell")
        values = [c.strip() for c in await cells.all_inner_texts()]
        row = dict(zip(headers, values, strict=True))
        row["Status"] = await self.status()
        return row

    async def status(self) -> str:
        icon = self._table().get_by_role("row").nth(1).get_by_role("img")
        return await icon.get_attribute("aria-label") or ""

    async def state(self) -> str:
        """The heading of the panel that explains the channel's state."""
        return (await self.page.locator(".state h2").inner_text()).strip()

    # -- the form -------------------------------------------------------------------------------

    def field(self, label: str) -> Locator:
        return self.page.get_by_label(label, exact=False).and_(self.page.get_by_role("textbox"))

    async def fill(self, *, trading_name: str | None = None, store_name: str | None = None) -> None:
        if trading_name is not None:
            await self.field("Trading name").fill(trading_name)
        if store_name is not None:
            await self.field("Store name").fill(store_name)

    async def value(self, label: str) -> str:
        return await self.field(label).input_value()

    async def field_error(self, label: str) -> str:
        """The message beside a field (the element its aria-describedby names), '' when none."""
        described = await self.field(label).get_attribute("aria-describedby")
        if not described:
            return ""
        return (await self.page.locator(f"#{described}").inner_text()).strip()

    def button(self, name: str) -> Locator:
        """A button or button-like link of the page, by its exact name."""
        return self.page.get_by_role("button", name=name, exact=True).or_(
            self.page.get_by_role("link", name=name, exact=True)
        )

    async def message(self) -> str:
        """The confirmation or refusal the last form left (shown once)."""
        shown = self.page.get_by_role("status").or_(self.page.get_by_role("alert"))
        return " ".join(t.strip() for t in await shown.all_inner_texts())

    async def _submit(self, name: str) -> str:
        await self.button(name).click()
        await self.expect_shown()
        return await self.message()

    async def update_and_activate(self) -> str:
        """Click "Update and activate"; returns the message the page answers with."""
        return await self._submit("Update and activate")

    async def update(self) -> str:
        return await self._submit("Update")

    async def cancel(self) -> None:
        await self.button("Cancel").click()
        await self.expect_shown()

    async def disconnect_store(self) -> ConfirmationPage:
        await self.button("Disconnect Store").click()
        return ConfirmationPage(self.page)

    async def delete(self) -> ConfirmationPage:
        await self.button("Delete").click()
        return ConfirmationPage(self.page)

    # -- sync health ----------------------------------------------------------------------------

    async def sync(self) -> dict[str, str]:
        """The Sync panel's facts, term -> what it says."""
        panel = self.page.get_by_role("region", name="Sync")
        terms = [t.strip() for t in await panel.locator("dt").all_inner_texts()]
        values = [" ".join(v.split()) for v in await panel.locator("dd").all_inner_texts()]
        return dict(zip(terms, values, strict=True))

    def failed_write_back(self, order_id: int) -> Locator:
        panel = self.page.get_by_role("region", name="Sync")
        return panel.get_by_role("row").filter(has=self.page.get_by_role("rowheader", name=f"#{order_id}"))

    async def retry(self, order_id: int) -> str:
        await self.page.get_by_role("button", name=f"Retry order #{order_id}").click()
        await self.expect_shown()
        return await self.message()


@dataclass
class ConfirmationPage:
    """The second click that Delete and Disconnect Store ask for."""

    page: Page

    async def heading(self) -> str:
        return (await self.page.get_by_role("heading", level=1).inner_text()).strip()

    async def confirm(self, button: str) -> None:
        await self.page.get_by_role("button", name=button, exact=True).click()

    async def cancel(self) -> SettingsPage:
        await self.page.get_by_role("link", name="Cancel", exact=True).click()
        settings = SettingsPage(self.page)
        await settings.expect_shown()
        return settings


@dataclass
class DeletedPage:
    """ "Channel deleted": a confirmation with the way on."""

    page: Page

    async def expect_shown(self) -> None:
        await expect(self.page).to_have_title("Channel deleted")
        await expect(self.page.get_by_role("status")).to_contain_text("deleted from Click & Drop")

    def onward(self) -> Locator:
        return self.page.get_by_role("link", name="Go to your BigCommerce control panel")
