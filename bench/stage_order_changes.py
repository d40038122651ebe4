"""OrderChanged's cost: requests per scheduled poll (idle, and with modified orders) and the scan's rate."""

from __future__ import annotations

import uuid
from datetime import timedelta

import aiohttp
import asyncpg
from bigcommerce_sandbox.merchant import Merchant
from bigcommerce_sandbox.runner import run_sandbox
from bigcommerce_sandbox.sandbox import Sandbox
from common.bigcommerce.client import BigCommerceClient
from common.crypto import TokenCipher, generate_key
from common.db.despatches import record_despatch
from common.db.pool import open_pool
from common.events import OrderDespatched
from order_poller.poller import Poller, PollerConfig

from bench.harness import BenchEnv, StageResult, Stopwatch

INSERT_CHANNEL = """
INSERT INTO channels (id, store_hash, status, trading_name, access_token_encrypted, weight_units)
VALUES ($1, $2, 'active', 'Bench Shop', $3, 'Grams')
"""
IDLE_STORES = 20


async def _channel(pool: asyncpg.Pool, sandbox: Sandbox, cipher: TokenCipher, store_hash: str) -> uuid.UUID:
    channel_id = uuid.uuid4()
    await pool.execute(
        INSERT_CHANNEL, channel_id, store_hash, cipher.encrypt(sandbox.issue_token(store_hash))
    )
    return channel_id


async def run(env: BenchEnv) -> list[StageResult]:
    """One store with `env.scale` downloaded orders of which a third are modified before a poll
    (cancelled, address edited, touched, or shipped by our own write-back in turn), and idle stores."""
    cipher = TokenCipher([generate_key()])
    config = PollerConfig(concurrency=8, order_concurrency=8)
    async with env.database() as dsn, open_pool(dsn) as pool, run_sandbox() as sandbox:
        store = sandbox.create_store(rate_quota=10_000_000)
        # an hour old: the first scan's 5-minute overlap does not list them all again
        earlier = sandbox.now() - timedelta(hours=1)
        orders = [sandbox.add_order(store.hash, created=earlier) for _ in range(env.scale)]
        channel_id = await _channel(pool, sandbox, cipher, store.hash)
        idle = [sandbox.create_store(rate_quota=10_000_000).hash for _ in range(IDLE_STORES)]
        for store_hash in idle:
            sandbox.add_order(store_hash)
            await _channel(pool, sandbox, cipher, store_hash)

        async with aiohttp.ClientSession() as session:
            client = BigCommerceClient(session, sandbox.api_url)
            await Poller(pool, client, cipher, config).run_once()  # downloads everything, first scans
            merchant = Merchant(sandbox, store.hash)
            modified = orders[: max(4, env.scale // 3)]
            for index, order in enumerate(modified):
                kind = index % 4
                if kind == 0:
                    await merchant.cancel(order.id)
                elif kind == 1:
                    await merchant.edit_address(order.id, order.addresses[0].id, city="Leeds")
                elif kind == 2:
                    await merchant.touch(order.id, staff_notes="checked")
                else:
                    despatch = OrderDespatched(
                        channel_id=channel_id,
                        store_hash=store.hash,
                        order_id=order.id,
                        despatched_at=sandbox.now(),
                    )
                    async with pool.acquire() as conn:
                        await record_despatch(conn, despatch)
                    await merchant.ship_by_hand(order.id)  # as the writer's shipment POST moves it
            sandbox.clear_requests()
            await pool.execute("UPDATE channels SET next_download_at = NULL")
            with Stopwatch() as scan:
                results = await Poller(pool, client, cipher, config).run_once()
            busy = next(r for r in results if r.store_hash == store.hash)
            busy_calls = len(sandbox.requests(store.hash))
            # the idle stores once more, alone: polls per second and requests per poll
            sandbox.clear_requests()
            await pool.execute("UPDATE channels SET next_download_at = NULL WHERE store_hash = ANY($1)", idle)
            with Stopwatch() as idle_round:
                await Poller(pool, client, cipher, config).run_once()
            idle_calls = sum(len(sandbox.requests(h)) for h in idle)
            announced = await pool.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'OrderChanged'")

    return [
        StageResult(
            "order changes: scheduled poll, modified orders",
            len(modified),
            scan.seconds,
            baseline="baseline: aiohttp GET (local)",
            api_calls=busy_calls,
            note=(
                f"{busy.outcome}: {announced} OrderChanged of {len(modified)} modified orders (a quarter each "
                f"cancelled, address, touched, our write-back); requests in the poll: {busy_calls} = "
                "the download listing's pages + one change-scan page per 250 modified orders, none per order"
            ),
        ),
        StageResult(
            "order changes: requests per idle scheduled poll",
            IDLE_STORES,
            idle_round.seconds,
            baseline="baseline: aiohttp GET (local)",
            api_calls=idle_calls,
            note="BC calls/item = requests per poll of an idle store: the download listing + the change scan (was 1)",
        ),
    ]
