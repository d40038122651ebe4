"""`/healthz`, `/readyz` and `/metrics`, served by every service on `HTTP_PORT`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import structlog
from aio_pika.abc import AbstractRobustConnection
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest

from common.amqp import connection_is_open
from common.db.pool import ping

if TYPE_CHECKING:
    import asyncpg

log = structlog.get_logger(__name__)

ReadinessCheck = Callable[[], Awaitable[bool]]
MetricsRefresh = Callable[[], Awaitable[None]]

READY = Gauge("connector_ready", "1 while /readyz would answer 200 (dependencies reachable, not draining)")
# a scrape never waits longer than this for a gauge read from a slow database or broker
REFRESH_TIMEOUT_S = 5.0


class Health:
    """Readiness state and the checks `/readyz` runs; `ready` is False while starting and draining.

    `refreshers` update gauges from the database or broker before each `/metrics` answer.
    """

    def __init__(self, checks: dict[str, ReadinessCheck] | None = None) -> None:
        self.ready = False
        self.checks: dict[str, ReadinessCheck] = dict(checks or {})
        self.refreshers: list[MetricsRefresh] = []

    async def refresh_metrics(self) -> None:
        """Readiness and every gauge; a gauge whose source fails keeps its last value (logged)."""
        ok, _ = await self.check()
        READY.set(1 if ok else 0)
        for refresh in self.refreshers:
            try:
                await asyncio.wait_for(refresh(), REFRESH_TIMEOUT_S)
            except Exception as error:  # noqa: BLE001 - a scrape must answer; readiness shows the outage
                log.warning("metrics_refresh_failed", error=type(error).__name__)

    async def check(self) -> tuple[bool, dict[str, str]]:
        names = list(self.checks)
        results = await asyncio.gather(*(self._run(self.checks[n]) for n in names))
        detail = {name: "ok" if ok else "failing" for name, ok in zip(names, results, strict=True)}
        return self.ready and all(results), detail

    @staticmethod
    async def _run(check: ReadinessCheck) -> bool:
        try:
            return await asyncio.wait_for(check(), 3)
        except Exception:  # noqa: BLE001 - any failure of a dependency check means "not ready"
            return False


def dependency_health(pool: asyncpg.Pool, connection: AbstractRobustConnection) -> Health:
    """The readiness every service has: PostgreSQL answers and the AMQP connection is open."""

    async def database() -> bool:
        return await ping(pool)

    async def broker() -> bool:
        return await connection_is_open(connection)

    return Health({"database": database, "broker": broker})


HEALTH_KEY = web.AppKey("health", Health)


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    health = request.app[HEALTH_KEY]
    ok, detail = await health.check()
    if not health.ready:
        detail["service"] = "draining or starting"
    body = {"status": "ready" if ok else "not ready", "checks": detail}
    return web.json_response(body, status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    await request.app[HEALTH_KEY].refresh_metrics()
    response = web.Response(body=generate_latest())
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def add_health_routes(app: web.Application, health: Health) -> None:
    """Mount the three operational routes on an application."""
    app[HEALTH_KEY] = health
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)


@asynccontextmanager
async def serve_health(port: int, health: Health, *, host: str = "0.0.0.0") -> AsyncIterator[web.AppRunner]:  # noqa: S104
    """Serve the operational routes from a small site (workers have no other HTTP)."""
    app = web.Application()
    add_health_routes(app, health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    try:
        yield runner
    finally:
        await runner.cleanup()
