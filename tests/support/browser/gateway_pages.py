"""The gateway's merchant pages (the demo's stand-in for Click & Drop's), as a merchant uses them.

This is the one module of the browser tests that knows those pages' markup and wording: when the
pages change (launch sessions, restyle, reconnect), adapt it here and the walks keep reading the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from playwright.async_api import Page, expect

INSTALLED_LINK = "Check your settings and activate your new channel on the channel settings page"


@dataclass
class InstalledPage:
    """ "App installed", where the install's callback leaves the merchant."""

    page: Page

    async def expect_shown(self) -> None:
        await expect(self.page).to_have_title("App installed")
        await expect(self.page.get_by_role("link", name=INSTALLED_LINK)).to_be_visible()

    async def open_settings(self) -> SettingsPage:
        await self.page.get_by_role("link", name=INSTALLED_LINK).click()
        settings = SettingsPage(self.page)
        await settings.expect_shown()
        return settings


@dataclass
class SettingsPage:
    """The channel's "Settings / Integrations" page: the channel table and the guide's form."""

    page: Page

    async def expect_shown(self) -> None:
        await expect(self.page.get_by_role("heading", level=1)).to_have_text("Settings / Integrations")

    async def channel_row(self) -> dict[str, str]:
        """The guide's channel table (Channel, Store name, Trading name, ... Status) as header -> cell."""
        table = self.page.get_by_role("table").filter(has=self.page.get_by_text("Connection expires"))
        headers = [h.strip() for h in await table.get_by_role("row").nth(0).locator("th").all_inner_texts()]
        cells = [c.strip() for c in await table.get_by_role("row").nth(1).locator("td").all_inner_texts()]
        return dict(zip(headers, cells, strict=True))

    async def status(self) -> str:
        return (await self.channel_row())["Status"]

    async def fill(self, *, trading_name: str) -> None:
        await self.page.get_by_label("Trading name").fill(trading_name)

    async def update_and_activate(self) -> str:
        """Click "Update and activate"; returns the message the page answers with."""
        await self.page.get_by_role("button", name="Update and activate").click()
        await self.expect_shown()
        return (await self.page.locator(".notice, .error").first.inner_text()).strip()
