"""Auth gateway stage: authenticated, de-duplicated webhook deliveries, each waking a download."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import uuid

import aiohttp
from aiohttp import web
from auth_gateway.app import create_app
from auth_gateway.context import secret_digest
from auth_gateway.settings import GatewaySettings
from auth_gateway.webhook_registration import WEBHOOK_HEADER
from common.crypto import TokenCipher, generate_key
from common.db.pool import open_pool

from bench.harness import BenchEnv, StageResult, Stopwatch

STORES = 20
INSERT_CHANNEL = """
INSERT INTO channels (id, store_hash, status, store_name, trading_name, access_token_encrypted,
                      webhook_secret_encrypted, webhook_secret_sha256)
VALUES ($1, $2, 'active', 'Bench', 'Bench', $3, $4, $5)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def webhooks(env: BenchEnv) -> StageResult:
    """POST /bigcommerce/webhooks: secret check, hash de-duplication, request_download, 200."""
    count = env.scale * 2
    key = generate_key()
    cipher = TokenCipher([key])
    port = _free_port()
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
        settings = GatewaySettings(
            database_url=url,
            amqp_url=env.amqp_url,
            amqp_exchange=env.topology().exchange,
            bigcommerce_client_id="bench",
            bigcommerce_client_secret="bench-secret-" + "x" * 32,
            bigcommerce_api_url="http://127.0.0.1:9",
            bigcommerce_login_url="http://127.0.0.1:9",
            token_encryption_keys=[key],
            internal_api_tokens=["bench-internal-token-0123456789"],
            public_base_url=f"http://127.0.0.1:{port}",
            http_port=port,
            webhook_check_interval_seconds=86_400,
        )
        runner = web.AppRunner(create_app(settings), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", port).start()
            target = f"http://127.0.0.1:{port}/bigcommerce/webhooks"
            window = asyncio.Semaphore(50)
            async with aiohttp.ClientSession() as http:

                async def deliver(n: int) -> None:
                    store_hash = f"bench{n % STORES}"
                    body = {
                        "scope": "store/order/statusUpdated",
                        "producer": f"stores/{store_hash}",
                        "hash": hashlib.sha1(str(n).encode(), usedforsecurity=False).hexdigest(),
                        "data": {"type": "order", "id": n},
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
        finally:
            await runner.cleanup()
    return StageResult(
        "auth gateway: webhook deliveries", count, sw.seconds, baseline="baseline: aiohttp GET (local)"
    )


async def run(env: BenchEnv) -> list[StageResult]:
    return [await webhooks(env)]
