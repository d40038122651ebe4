"""Auth gateway stage: authenticated, de-duplicated webhook deliveries, each requesting its order."""

from __future__ import annotations

import asyncio
import hashlib
import uuid

import aiohttp
from auth_gateway.context import secret_digest
from auth_gateway.webhook_registration import WEBHOOK_HEADER
from common.crypto import TokenCipher, generate_key
from common.db.pool import open_pool

from bench.harness import BenchEnv, StageResult, Stopwatch
from bench.rig import run_gateway

STORES = 20
INSERT_CHANNEL = """
INSERT INTO channels (id, store_hash, status, store_name, trading_name, access_token_encrypted,
                      webhook_secret_encrypted, webhook_secret_sha256)
VALUES ($1, $2, 'active', 'Bench', 'Bench', $3, $4, $5)
"""


async def webhooks(env: BenchEnv) -> StageResult:
    """POST /bigcommerce/webhooks: secret check, hash de-duplication, the order's download request, 200."""
    count = env.scale * 2
    key = generate_key()
    cipher = TokenCipher([key])
    async with env.database() as url, open_pool(url) as pool:
        secrets = {}
        for n in range(STORES):
            store_hash, secret = f"bench{n}", uuid.uuid4().hex
            secrets[store_hash] = secret
            await pool.execute(
                INSERT_CHANNEL,
                uuid.uuid4(),
                store_hash,
                cipher.encrypt("t"),
                cipher.encrypt(secret),
                secret_digest(secret),
            )
        async with run_gateway(env, url, key, env.topology().exchange) as base_url:
            target = f"{base_url}/bigcommerce/webhooks"
            window = asyncio.Semaphore(50)
            async with aiohttp.ClientSession() as http:

                async def deliver(n: int) -> None:
                    store_hash = f"bench{n % STORES}"
                    body = {
                        "scope": "store/order/statusUpdated",
                        "producer": f"stores/{store_hash}",
                        "hash": hashlib.sha1(str(n).encode(), usedforsecurity=False).hexdigest(),
                        # a move into Awaiting Shipment: each delivery requests its order's download
                        "data": {
                            "type": "order",
                            "id": n + 1,
                            "status": {"previous_status_id": 11, "new_status_id": 9},
                        },
                        "created_at": 0,
                    }
                    async with (
                        window,
                        http.post(
                            target, json=body, headers={WEBHOOK_HEADER: secrets[store_hash]}
                        ) as response,
                    ):
                        await response.read()
                        if response.status != 200:
                            raise RuntimeError(f"webhook answered {response.status}")

                with Stopwatch() as sw:
                    await asyncio.gather(*(deliver(n) for n in range(count)))
        requested = await pool.fetchval("SELECT count(*) FROM order_download_requests")
    return StageResult(
        "auth gateway: webhook deliveries",
        count,
        sw.seconds,
        baseline="baseline: aiohttp GET (local)",
        note="" if requested == count else f"only {requested} of {count} deliveries requested their order",
    )


async def run(env: BenchEnv) -> list[StageResult]:
    return [await webhooks(env)]
