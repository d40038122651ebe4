"""`uv run auth-gateway`: settings, logging, then the aiohttp app until SIGTERM/SIGINT."""

from __future__ import annotations

import signal

import structlog
from aiohttp import web
from common.lifecycle import BOOT_FAILURES
from common.logging import configure_logging
from common.settings import load_settings
from common.supervision import Supervisor, supervising

from auth_gateway.app import create_app
from auth_gateway.settings import GatewaySettings

log = structlog.get_logger(__name__)


def main() -> None:
    settings = load_settings(GatewaySettings)
    configure_logging(settings.log_level, settings.log_format)
    app = create_app(settings)
    shutting_down = False

    async def _shutting_down(_: web.Application) -> None:
        nonlocal shutting_down
        shutting_down = True

    app.on_shutdown.append(_shutting_down)
    # a background task (the outbox relay) that dies stops the app as SIGTERM would, then exit 1
    supervisor = Supervisor(lambda: signal.raise_signal(signal.SIGTERM), stopping=lambda: shutting_down)
    # run_app turns SIGTERM/SIGINT into a graceful stop: not ready, drain, cleanup contexts in reverse
    try:
        with supervising(supervisor):
            web.run_app(
                app,
                host=settings.http_host,
                port=settings.http_port,
                shutdown_timeout=settings.shutdown_grace_s,
                access_log=None,
                print=None,
            )
    except BOOT_FAILURES as error:
        log.error("service_failed_to_start", service="auth-gateway", error=str(error))
        raise SystemExit(1) from None
    if supervisor.failure is not None:
        log.error(
            "service_stopped", service="auth-gateway", reason=f"background task {supervisor.failure} died"
        )
        raise SystemExit(1)


if __name__ == "__main__":
    main()
