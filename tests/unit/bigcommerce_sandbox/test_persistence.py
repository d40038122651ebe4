"""A sandbox kept in a state file: saved before every answer that changed it, restored as it was."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from bigcommerce_sandbox import (
    AddressSpec,
    LineSpec,
    ManualClock,
    Sandbox,
    StateFileError,
    run_sandbox,
    serve,
)
from bigcommerce_sandbox.persistence import FORMAT

from .conftest import APP, START
from .test_oauth import exchange, exchange_fields


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "sandbox.json"


@pytest.fixture
async def kept(state_path: Path) -> AsyncIterator[Sandbox]:
    async with run_sandbox(app=APP, clock=ManualClock(START), state_path=state_path) as sb:
        yield sb


def restored(state_path: Path) -> Sandbox:
    sandbox = Sandbox(APP, state_path=state_path)
    assert sandbox.restore()
    return sandbox


async def _answers(sandbox: Sandbox, token: str, paths: list[str]) -> list[object]:
    async with aiohttp.ClientSession() as http:
        bodies = []
        for path in paths:
            url = f"{sandbox.api_url}/stores/abc123{path}"
            async with http.get(url, headers={"X-Auth-Token": token}) as resp:
                assert resp.status == 200
                # resource links carry the server's address, which is new on every start
                bodies.append(json.loads((await resp.text()).replace(sandbox.api_url, "")))
        return bodies


async def test_a_saved_sandbox_comes_back_equal(kept: Sandbox, state_path: Path) -> None:
    store = kept.create_store("abc123", name="Zoë's Shop", weight_units="Kilograms", rate_quota=10_000)
    kept.add_user(store.hash, "staff@example.com")
    order = kept.add_order(
        store.hash,
        [LineSpec(quantity=2, address=0, weight="0.25"), LineSpec(address=1), LineSpec(type="digital")],
        addresses=[AddressSpec(), AddressSpec(shipping_method="Royal Mail Tracked 24")],
        customer_message="Ærø \u2013 \u201cquoted\u201d",
    )
    token = kept.issue_token(store.hash)
    hook = kept.create_hook(
        store.hash, "store/order/statusUpdated", "https://a.example/h", headers={"X": "1"}
    )
    async with aiohttp.ClientSession() as http:
        body = {
            "order_address_id": order.addresses[0].id,
            "shipping_provider": "royalmail",
            "tracking_number": "TT123456785GB",
            "items": [{"order_product_id": order.lines[0].id, "quantity": 2}],
        }
        url = f"{kept.api_url}/stores/abc123/v2/orders/{order.id}/shipments"
        async with http.post(url, json=body, headers={"X-Auth-Token": token}) as resp:
            assert resp.status == 201

    paths = [f"/v2/orders/{order.id}", f"/v2/orders/{order.id}/products", f"/v2/orders/{order.id}/shipments"]
    before = await _answers(kept, token, paths)
    again = restored(state_path)
    async with run_sandbox(sandbox=again):
        assert await _answers(again, token, paths) == before  # the old token works, the bodies are the same
    assert again.stores == kept.stores
    assert again.tokens == kept.tokens
    assert again.hooks == {hook.id: hook}
    assert (again.next_hook_id, again.next_store_id) == (kept.next_hook_id, kept.next_store_id)
    # ids go on where they stopped, never reusing one the app has already seen
    assert again.add_order(store.hash).id == order.id + 1
    assert again.create_hook(store.hash, "store/order/created", "https://a.example/h").id == hook.id + 1


async def test_every_change_through_http_is_saved_before_the_answer(kept: Sandbox, state_path: Path) -> None:
    store = kept.create_store("abc123", rate_quota=10_000)
    kept.save()
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{kept.marketplace_url}/install", data={"store": store.hash}, allow_redirects=False
        ) as resp:
            assert resp.status == 302
            assert restored(state_path).store("abc123").installed  # already on disk when the answer came
        code = resp.headers["Location"].split("code=")[1].split("&")[0]
        status, grant = await exchange(http, kept, exchange_fields(kept, code, "stores/abc123"))
        assert status == 200
        assert grant["access_token"] in restored(state_path).tokens
        order = kept.add_order(store.hash)  # the control API, like tests: saved with the next change
        url = f"{kept.api_url}/stores/abc123/v2/orders/{order.id}"
        headers = {"X-Auth-Token": grant["access_token"]}
        async with http.put(url, json={"status_id": 10}, headers=headers) as resp:
            assert resp.status == 200
        assert restored(state_path).order("abc123", order.id).status_id == 10
        async with http.get(url, headers=headers) as resp:
            assert resp.status == 200
    assert [p.name for p in state_path.parent.iterdir()] == ["sandbox.json"]  # no temporary files left
    assert state_path.stat().st_mode & 0o077 == 0  # it holds access tokens


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[]", json.dumps({"format": FORMAT, "stores": {"x": {"hash": 1}}}).encode()],
)
def test_an_unreadable_state_file_is_refused_and_left_alone(state_path: Path, content: bytes) -> None:
    state_path.parent.mkdir(parents=True)
    state_path.write_bytes(content)
    with pytest.raises(StateFileError, match="move it away"):
        Sandbox(APP, state_path=state_path).restore()
    assert state_path.read_bytes() == content


def test_a_state_file_of_another_format_is_refused(state_path: Path) -> None:
    Sandbox(APP, state_path=state_path).save()
    data = json.loads(state_path.read_text())
    state_path.write_text(json.dumps({**data, "format": FORMAT + 1}))
    with pytest.raises(StateFileError, match=f"format {FORMAT + 1}"):
        Sandbox(APP, state_path=state_path).restore()


async def _serve_once(state_path: Path | None) -> list[str]:
    """Run the demo server until it has printed its URLs, then stop it; returns what it printed."""
    lines: list[str] = []
    stop = asyncio.Event()
    task = asyncio.create_task(
        serve(port=0, stop=stop, echo=lines.append, new_order_interval_s=None, state_path=state_path)
    )
    async with asyncio.timeout(10):
        while not any("BIGCOMMERCE_API_URL=" in line for line in lines):
            await asyncio.sleep(0.01)
    stop.set()
    await task
    return lines


async def test_the_demo_restores_its_store_and_a_new_demo_gets_a_new_hash(state_path: Path) -> None:
    first = await _serve_once(state_path)
    (created,) = [line for line in first if "demo store" in line]
    assert "(new) with 40 orders" in created
    store_hash = created.split("'")[1]
    assert store_hash.startswith("demo")
    assert store_hash != "demo"

    second = await _serve_once(state_path)
    (again,) = [line for line in second if "demo store" in line]
    assert f"demo store '{store_hash}' (restored from {state_path}) with 40 orders" in again

    # without the file, a new store under another hash: its order ids cannot collide with the old one's
    other = await _serve_once(None)
    (fresh,) = [line for line in other if "demo store" in line]
    assert fresh.split("'")[1] != store_hash


async def test_the_demo_stops_with_the_error_when_its_state_cannot_be_saved(tmp_path: Path) -> None:
    state_path = tmp_path / "state" / "sandbox.json"
    lines: list[str] = []
    task = asyncio.create_task(
        serve(
            port=0, stop=asyncio.Event(), echo=lines.append, new_order_interval_s=0.01, state_path=state_path
        )
    )
    async with asyncio.timeout(10):
        while not any("BIGCOMMERCE_API_URL=" in line for line in lines):
            await asyncio.sleep(0.01)
    shutil.rmtree(state_path.parent)
    state_path.parent.write_text("a file where the state folder was")  # the next new order cannot be saved
    done, _ = await asyncio.wait({task}, timeout=10)  # waits for the sandbox to stop; cancels nothing
    assert done == {task}, "the sandbox kept running without saving"
    assert isinstance(task.exception(), FileExistsError)
