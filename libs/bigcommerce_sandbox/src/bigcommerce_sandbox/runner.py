"""Serving the sandbox: `run_sandbox` for tests and benchmarks, `serve_forever` for the demo."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from bigcommerce_sandbox.app import create_app
from bigcommerce_sandbox.builders import LineSpec
from bigcommerce_sandbox.data import DEFAULT_APP
from bigcommerce_sandbox.generator import PHYSICAL, generate_orders, store_weight
from bigcommerce_sandbox.models import AppConfig, Store
from bigcommerce_sandbox.sandbox import Sandbox
from bigcommerce_sandbox.store_view import ORDERS_PATH

DEMO_STORE_HASH = "demo"  # a new demo store gets six random hex digits after it


def _echo(line: str) -> None:
    print(line, flush=True)  # flushed: the demo's output is often piped through `make run`


@contextlib.asynccontextmanager
async def run_sandbox(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    app: AppConfig | None = None,
    sandbox: Sandbox | None = None,
    **options: Any,
) -> AsyncIterator[Sandbox]:
    """Serve a sandbox on `host:port` (0 = a free port) and yield it with its URLs bound.

    `options` go to `Sandbox(...)` (clock, rate_limit_window_s, allow_insecure_destinations, ...).
    """
    sandbox = sandbox or Sandbox(app, **options)
    sandbox.closing.clear()  # a sandbox may be served again after an earlier run stopped
    runner = web.AppRunner(create_app(sandbox), shutdown_timeout=5.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = runner.addresses[0][1]
        shown = f"[{host}]" if ":" in host else host
        sandbox.bind(f"http://{shown}:{bound_port}")
        yield sandbox
    finally:
        sandbox.closing.set()  # releases hung requests so the shutdown does not wait on them
        await runner.cleanup()


def create_demo_store(
    sandbox: Sandbox,
    store_hash: str = DEMO_STORE_HASH,
    *,
    orders: int = 40,
    seed: int = 7,
    weight_units: str = "Grams",
) -> Store:
    """A store named "Demo Store" with generated orders of every kind."""
    store = sandbox.create_store(store_hash, name="Demo Store", weight_units=weight_units)
    generate_orders(store, count=orders, now=sandbox.now(), seed=seed)
    return store


async def add_demo_orders(sandbox: Sandbox, store_hash: str, interval_s: float) -> None:
    """Every `interval_s`, a new order arrives in Awaiting Shipment (saved), firing its webhooks."""
    index = 0
    while True:
        await asyncio.sleep(interval_s)
        name, grams, price = PHYSICAL[index % len(PHYSICAL)]
        store = sandbox.store(store_hash)
        weight = store_weight(grams, store.weight_units)
        order = sandbox.add_order(
            store_hash, [LineSpec(name=name, price_inc_tax=price, weight=weight)], status_id=0
        )
        index += 1
        sandbox.save()
        await sandbox.emit(store_hash, "store/order/created", {"type": "order", "id": order.id})
        await sandbox.emit_order_status_updated(store_hash, order.id, 9)


async def serve(
    host: str = "127.0.0.1",
    port: int = 8900,
    *,
    demo: bool = True,
    app_base_url: str = "http://127.0.0.1:8080",
    client_id: str = DEFAULT_APP.client_id,
    client_secret: str = DEFAULT_APP.client_secret,
    new_order_interval_s: float | None = 120.0,
    stop: asyncio.Event | None = None,
    echo: Callable[[str], None] = _echo,
    state_path: Path | None = None,
) -> None:
    """Serve until `stop` is set: a demo store, its orders, and the URLs to configure.

    With `state_path` the stores, tokens and hooks are saved there after every change and restored
    at the next start, so a restart finds the store, its orders and the app's grant as it left them.

    Raises:
        StateFileError: `state_path` holds something this version cannot read.
    """
    app = AppConfig.for_base_url(app_base_url, client_id, client_secret)
    # Local apps listen on plain http and a custom port, which BigCommerce would refuse.
    sandbox = Sandbox(app, allow_insecure_destinations=True, state_path=state_path)
    restored = sandbox.restore()
    stop = stop or asyncio.Event()
    async with run_sandbox(host, port, sandbox=sandbox):
        ticker: asyncio.Task[None] | None = None
        if demo:
            store = _demo_store(sandbox, restored)
            if new_order_interval_s:
                ticker = asyncio.create_task(add_demo_orders(sandbox, store.hash, new_order_interval_s))
                # a ticker that fails (the state file cannot be written) stops the sandbox; awaiting it
                # below raises its error, so the demo stops loudly instead of quietly freezing the store
                ticker.add_done_callback(lambda _: stop.set())
            origin = f"restored from {state_path}" if restored else "new"
            echo(f"BigCommerce sandbox: demo store {store.hash!r} ({origin}) with {len(store.orders)} orders")
        echo(f"  marketplace (install the app): {sandbox.marketplace_url}")
        echo(f"  the store's orders: {sandbox.base_url}{ORDERS_PATH}")
        echo(f"  BIGCOMMERCE_API_URL={sandbox.api_url}")
        echo(f"  BIGCOMMERCE_LOGIN_URL={sandbox.login_url}")
        echo(f"  BIGCOMMERCE_CLIENT_ID={app.client_id}")
        echo(f"  BIGCOMMERCE_CLIENT_SECRET={app.client_secret}  (sandbox-only demo value)")
        echo(f"  auth callback: {app.auth_callback_url}")
        try:
            await stop.wait()
        finally:
            if ticker is not None:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker


def _demo_store(sandbox: Sandbox, restored: bool) -> Store:
    """The restored demo store, or a new one under a hash no earlier sandbox used.

    A connector's database remembers the orders it downloaded by store hash and order id; a new
    store under an old hash would reuse those ids and its orders would never download.
    """
    if restored and sandbox.stores:
        return next(iter(sandbox.stores.values()))
    store = create_demo_store(sandbox, f"{DEMO_STORE_HASH}{secrets.token_hex(3)}")
    sandbox.save()
    return store


def serve_forever(
    host: str = "127.0.0.1",
    port: int = 8900,
    *,
    demo: bool = True,
    app_base_url: str = "http://127.0.0.1:8080",
    **options: Any,
) -> None:
    """Run `serve` until SIGINT or SIGTERM (for `connector sandbox`)."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)  # only sets a flag
        await serve(host, port, demo=demo, app_base_url=app_base_url, stop=stop, **options)

    asyncio.run(main())
