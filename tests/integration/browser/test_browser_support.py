"""The browser test support itself: failures leave their evidence, the accessibility check fails when it should."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from playwright.async_api import Page

from tests.support.browser.accessibility import assert_accessible, axe_violations

REPO = Path(__file__).resolve().parents[3]

INNER_TESTS = """
from playwright.async_api import Page


async def test_fails_on_its_page(page: Page) -> None:
    await page.set_content("<!doctype html><title>inner</title><h1>marker-7f3a</h1>")
    assert await page.title() == "not this one"


async def test_passes(page: Page) -> None:
    await page.set_content("<!doctype html><title>fine</title>")
    assert await page.title() == "fine"
"""


def test_a_failing_browser_test_leaves_its_screenshot_and_page_html(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.support.browser.plugin"]\n')
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(INNER_TESTS))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-o",
            "asyncio_mode=auto",
            "-q",
            str(tmp_path),
        ],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert run.returncode == 1, run.stdout + run.stderr  # exactly the failing test failed
    assert "1 failed, 1 passed" in run.stdout, run.stdout
    folder = tmp_path / "test-results" / "test_inner.py_test_fails_on_its_page"
    assert f"browser artifacts of the failure: {folder}" in run.stdout
    assert (folder / "screenshot.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "marker-7f3a" in (folder / "page.html").read_text()
    assert (folder / "url.txt").read_text() == "about:blank\n"
    assert [p.name for p in (tmp_path / "test-results").iterdir()] == [folder.name]  # none for the pass


async def test_the_accessibility_check_fails_on_serious_and_critical_violations(page: Page) -> None:
    await page.set_content(
        '<!doctype html><html><title>bad</title><body><img src="x.png"><input name="q"></body></html>'
    )
    with pytest.raises(AssertionError) as failure:
        await assert_accessible(page)
    message = str(failure.value)
    for rule in ("html-has-lang (serious)", "image-alt (critical)", "label (critical)"):
        assert rule in message


async def test_moderate_findings_do_not_fail_the_check_but_can_be_listed(page: Page) -> None:
    # no <main> landmark and no h1: moderate findings only
    await page.set_content('<!doctype html><html lang="en"><title>ok</title><body><p>Text</p></body></html>')
    await assert_accessible(page)
    moderate = await axe_violations(page, impacts=("moderate",))
    assert {"landmark-one-main", "page-has-heading-one"} <= {v["id"] for v in moderate}
