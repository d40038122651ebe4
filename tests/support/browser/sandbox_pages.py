"""The BigCommerce sandbox's pages as a merchant uses them: marketplace, install consent, the store's orders."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from playwright.async_api import Locator, Page, expect


@dataclass
class Marketplace:
    """The App Marketplace page of one store, and the consent page its Install opens."""

    page: Page
    base_url: str
    store_hash: str

    async def open(self) -> None:
        await self.page.goto(f"{self.base_url}/marketplace?{urlencode({'store': self.store_hash})}")
        await expect(self.page.get_by_role("heading", level=1)).to_have_text("App Marketplace")

    async def install(self) -> None:
        """Install, then the consent page with its permissions."""
        await self.page.get_by_role("link", name="Install", exact=True).click()
        await expect(self.page.get_by_role("heading", level=1)).to_have_text(
            "Install Royal Mail Click & Drop"
        )

    async def confirm(self) -> None:
        """Confirm: the browser goes on to the app's auth callback."""
        await self.page.get_by_role("button", name="Confirm").click()

    async def uninstall(self) -> None:
        await self.page.get_by_role("button", name="Uninstall").click()
        await expect(self.page.get_by_role("status")).to_contain_text("was uninstalled")

    def action(self, name: str) -> Locator:
        """The app card's Install, Launch or Uninstall (link or button)."""
        return self.page.get_by_role("link", name=name, exact=True).or_(
            self.page.get_by_role("button", name=name, exact=True)
        )

    async def open_orders(self) -> StoreOrders:
        await self.page.get_by_role("link", name="See the orders of").click()
        return StoreOrders(self.page, self.base_url, self.store_hash)


@dataclass
class StoreOrders:
    """The store's read-only order view: the list and each order's page."""

    page: Page
    base_url: str
    store_hash: str

    async def open(self) -> None:
        await self.page.goto(f"{self.base_url}/manage/orders?{urlencode({'store': self.store_hash})}")
        await expect(self.page.get_by_role("heading", level=1)).to_have_text("Orders")

    def row(self, order_id: int) -> Locator:
        """The order's row in the list (its header cell is the order number)."""
        return self.page.get_by_role("row").filter(
            has=self.page.get_by_role("rowheader", name=f"#{order_id}")
        )

    async def status(self, order_id: int) -> str:
        return (await self.row(order_id).locator(".status").inner_text()).strip()

    async def open_order(self, order_id: int) -> None:
        await self.row(order_id).get_by_role("link", name=f"#{order_id}").click()
        await expect(self.page.get_by_role("heading", level=1)).to_have_text(f"Order #{order_id}")

    async def tracking_links(self) -> dict[str, str]:
        """Tracking number -> tracking page of the shipments on the order page."""
        table = self.page.get_by_role("table").filter(
            has=self.page.get_by_role("columnheader", name="Provider")
        )
        links = table.get_by_role("link")
        found = {}
        for index in range(await links.count()):
            link = links.nth(index)
            found[(await link.inner_text()).strip()] = await link.get_attribute("href") or ""
        return found
