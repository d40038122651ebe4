"""Accessibility checks in the browser with axe-core (the copy bundled by axe-playwright-python)."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.base import AXE_SCRIPT
from playwright.async_api import Page

SEVERE = ("serious", "critical")


async def axe_violations(page: Page, *, impacts: tuple[str, ...] = SEVERE) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now, keeping those of the given impacts."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(AXE_SCRIPT)
    results: dict[str, Any] = await page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [v for v in results["violations"] if v.get("impact") in impacts]


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per violation and the elements it was found on."""
    lines = []
    for violation in violations:
        targets = ", ".join(" ".join(map(str, node["target"])) for node in violation["nodes"][:5])
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} [{targets}]")
    return "\n".join(lines)


async def assert_accessible(page: Page) -> None:
    """Fail on any serious or critical axe-core violation of the current page."""
    violations = await axe_violations(page)
    assert not violations, f"accessibility violations on {page.url}:\n{describe(violations)}"
