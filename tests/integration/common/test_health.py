"""Health routes: liveness never touches dependencies; readiness follows them and the drain flag."""

from __future__ import annotations

import aio_pika
import asyncpg
from aio_pika.abc import AbstractRobustConnection
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from common.amqp import connection_is_open
from common.db.pool import ping
from common.health import Health, add_health_routes, dependency_health


async def test_readiness_follows_dependencies_and_drain(
    pool: asyncpg.Pool, amqp_connection: AbstractRobustConnection
) -> None:
    broker_up = {"up": True}

    async def broker() -> bool:
        return broker_up["up"] and await connection_is_open(amqp_connection)

    async def database() -> bool:
        return await ping(pool)

    health = Health({"database": database, "broker": broker})
    app = web.Application()
    add_health_routes(app, health)
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/readyz")).status == 503  # not ready until started
        health.ready = True
        ready = await client.get("/readyz")
        assert ready.status == 200
        assert (await ready.json())["checks"] == {"database": "ok", "broker": "ok"}

        broker_up["up"] = False
        failing = await client.get("/readyz")
        assert failing.status == 503
        assert (await failing.json())["checks"]["broker"] == "failing"
        assert (await client.get("/healthz")).status == 200

        broker_up["up"] = True
        health.ready = False  # draining
        assert (await client.get("/readyz")).status == 503

        metrics = await client.get("/metrics")
        assert metrics.status == 200
        assert "text/plain" in metrics.headers["Content-Type"]
        assert "python_info" in await metrics.text()


async def test_dependency_health_sees_a_closed_broker_connection(pool: asyncpg.Pool, amqp_url: str) -> None:
    connection = await aio_pika.connect_robust(amqp_url)
    health = dependency_health(pool, connection)
    health.ready = True
    assert await health.check() == (True, {"database": "ok", "broker": "ok"})

    await connection.close()

    assert await health.check() == (False, {"database": "ok", "broker": "failing"})
