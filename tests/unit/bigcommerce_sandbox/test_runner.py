"""The runner: URLs of a served sandbox and the demo server."""

from __future__ import annotations

import asyncio

import aiohttp
from bigcommerce_sandbox import run_sandbox, serve


async def test_run_sandbox_exposes_its_urls() -> None:
    async with run_sandbox() as sandbox, aiohttp.ClientSession() as http:
        assert sandbox.base_url.startswith("http://127.0.0.1:")
        assert sandbox.api_url == sandbox.base_url
        assert sandbox.login_url == sandbox.base_url
        async with http.get(sandbox.marketplace_url) as resp:
            assert resp.status == 200


async def test_serve_prints_urls_and_creates_the_demo_store() -> None:
    lines: list[str] = []
    stop = asyncio.Event()
    task = asyncio.create_task(
        serve(
            port=0, stop=stop, echo=lines.append, new_order_interval_s=0.01, app_base_url="http://127.0.0.1:1"
        )
    )
    async with asyncio.timeout(10):
        while not any("BIGCOMMERCE_API_URL=" in line for line in lines):
            await asyncio.sleep(0.01)
    api_url = next(line for line in lines if "BIGCOMMERCE_API_URL=" in line).split("=", 1)[1]
    assert any("BIGCOMMERCE_CLIENT_ID=" in line for line in lines)
    assert any("BIGCOMMERCE_CLIENT_SECRET=" in line for line in lines)
    async with aiohttp.ClientSession() as http, http.get(f"{api_url}/marketplace") as resp:
        page = await resp.text()
    (created,) = [line for line in lines if "demo store" in line]
    assert "(new) with 40 orders" in created
    assert created.split("'")[1] in page
    assert any("/manage/orders" in line for line in lines)
    stop.set()
    await task
