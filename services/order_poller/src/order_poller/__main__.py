"""Entry point of `order-poller`: settings, logging, pool, broker, health, then the poll loop until SIGTERM."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import aiohttp
import structlog
from common.amqp import EventPublisher, Topology, open_connection
from common.bigcommerce.client import BigCommerceClient
from common.crypto import TokenCipher
from common.db.pool import open_pool
from common.health import dependency_health, serve_health
from common.lifecycle import run_service
from common.logging import configure_logging
from common.operational_metrics import overdue_stores
from common.outbox import OutboxRelay
from common.retention import RetentionPolicy, RetentionSweeper
from common.settings import load_settings

from order_poller.db.notifications import listen_for_download_requests
from order_poller.poller import Poller, PollerConfig
from order_poller.settings import PollerSettings

log = structlog.get_logger(__name__)

# what the relay may still publish after the last poll, before the process exits
FINAL_RELAY_S = 5.0


def config_from(settings: PollerSettings) -> PollerConfig:
    """The poll loop's configuration from the environment's settings."""
    return PollerConfig(
        interval_min_s=settings.poll_interval_min_seconds,
        interval_max_s=settings.poll_interval_max_seconds,
        max_age_days=settings.order_max_age_days,
        concurrency=settings.poll_concurrency,
        concurrency_max=settings.poll_concurrency_max,
        lease_s=settings.poll_lease_seconds,
        order_budget_s=settings.order_time_budget_seconds,
    )


async def serve(settings: PollerSettings, stop: asyncio.Event) -> None:
    """Run the poller until `stop` is set, then drain and close in reverse order."""
    dsn = settings.database_url.get_secret_value()
    async with AsyncExitStack() as stack:
        pool = await stack.enter_async_context(open_pool(dsn, max_size=settings.database_pool_size))
        connection = await stack.enter_async_context(
            open_connection(settings.amqp_url.get_secret_value(), name="order-poller")
        )

        health = dependency_health(pool, connection)
        health.refreshers.append(overdue_stores(pool, settings.poll_interval_max_seconds))
        await stack.enter_async_context(serve_health(settings.http_port, health, host=settings.http_host))
        publisher = await stack.enter_async_context(
            EventPublisher(connection, Topology(exchange=settings.amqp_exchange))
        )
        relay = await stack.enter_async_context(OutboxRelay(pool, publisher, backoff=settings.server_backoff))
        await stack.enter_async_context(
            RetentionSweeper(
                pool,
                RetentionPolicy(
                    retention_days=settings.data_retention_days,
                    order_window_days=settings.order_max_age_days,
                ),
                backoff=settings.server_backoff,
            )
        )
        session = await stack.enter_async_context(aiohttp.ClientSession())
        client = BigCommerceClient.for_service(session, settings)
        poller = Poller(
            pool,
            client,
            TokenCipher(settings.token_encryption_keys),
            config_from(settings),
            on_downloaded=relay.notify,
            backoff=settings.server_backoff,
        )
        await stack.enter_async_context(
            listen_for_download_requests(dsn, poller.wake, backoff=settings.server_backoff)
        )

        async def not_ready_on_stop() -> None:
            await stop.wait()
            health.ready = False  # stop advertising before the drain starts

        watcher = asyncio.create_task(not_ready_on_stop())
        health.ready = True
        log.info("order_poller_ready", owner=poller.owner, port=settings.http_port)
        try:
            await poller.run(stop, grace_s=settings.shutdown_grace_s)
        finally:
            health.ready = False
            watcher.cancel()
        # publish what the last polls wrote; anything left is relayed by the next replica
        try:
            await asyncio.wait_for(relay.run_once(), FINAL_RELAY_S)
        except Exception as error:  # noqa: BLE001 - the next replica relays what is left
            log.warning("final_relay_skipped", error=type(error).__name__)


def main() -> None:
    """`uv run order-poller`."""
    settings = load_settings(PollerSettings)
    configure_logging(settings.log_level, settings.log_format)

    async def run(stop: asyncio.Event) -> None:
        await serve(settings, stop)

    run_service("order-poller", run)


if __name__ == "__main__":
    main()
