"""Browser tests: Debian's Chromium driven by Playwright; a failing test keeps its screenshot and page HTML.

Registered for the whole suite by `tests/conftest.py`. A test asks for `page` (or `browser`); when its
setup or body fails, `test-results/<test>/` receives `screenshot.png`, `page.html` and `url.txt` of the
page as it was at the failure. With `BROWSER_STEP_SCREENSHOTS=1`, `steps.shot(page, name)` also keeps a
screenshot of every step a walk names, in `test-results/<test>/steps/`, to compare with the guide.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Headless, and nothing that reaches beyond the machine (QUIC, updates, sync, background fetches).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
RESULTS_FOLDER = "test-results"
VIEWPORT = {"width": 1280, "height": 900}
ACTION_TIMEOUT_MS = (
    10_000  # a click or an expectation on a local page: Playwright's 30 s only delays a failure
)

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report  # type: ignore[attr-defined]
    return report


def artifacts_folder(item: pytest.Item) -> Path:
    """`test-results/<test id>` under the run's root folder: one per test, readable as a path."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid).strip("_")
    return item.config.rootpath / RESULTS_FOLDER / name


async def save_failure_artifacts(page: Page, folder: Path) -> None:
    """The page as the test left it: screenshot, HTML and address."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "url.txt").write_text(page.url + "\n", encoding="utf-8")
    (folder / "page.html").write_text(await page.content(), encoding="utf-8")
    await page.screenshot(path=folder / "screenshot.png", full_page=True)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium), as .ci/run does"
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_FLAGS))
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport=VIEWPORT, locale="en-GB")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    opened = await context.new_page()
    try:
        yield opened
    finally:
        reports = request.node.stash.get(_REPORTS, {})
        if any(report.failed for report in reports.values()):
            folder = artifacts_folder(request.node)
            await save_failure_artifacts(opened, folder)
            print(f"browser artifacts of the failure: {folder}")  # shown with the failure's report
        await context.close()


@dataclass
class Steps:
    """Screenshots of a walk's named steps, kept only when asked for (BROWSER_STEP_SCREENSHOTS=1)."""

    folder: Path
    enabled: bool
    taken: int = 0

    async def shot(self, page: Page, name: str) -> None:
        if not self.enabled:
            return
        self.taken += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=self.folder / f"{self.taken:02d}-{name}.png", full_page=True)


@pytest.fixture
def steps(request: pytest.FixtureRequest) -> Steps:
    enabled = os.environ.get("BROWSER_STEP_SCREENSHOTS") == "1"
    return Steps(artifacts_folder(request.node) / "steps", enabled)
