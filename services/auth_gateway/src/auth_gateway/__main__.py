"""`uv run auth-gateway`: settings, logging, then the aiohttp app until SIGTERM/SIGINT."""

from __future__ import annotations

import structlog
from aiohttp import web
from common.errors import MigrationError
from common.logging import configure_logging
from common.settings import load_settings

from auth_gateway.app import create_app
from auth_gateway.settings import GatewaySettings

log = structlog.get_logger(__name__)


def main() -> None:
    settings = load_settings(GatewaySettings)
    configure_logging(settings.log_level, settings.log_format)
    # run_app turns SIGTERM/SIGINT into a graceful stop: not ready, drain, cleanup contexts in reverse
    try:
        web.run_app(
            create_app(settings),
            host=settings.http_host,
            port=settings.http_port,
            shutdown_timeout=settings.shutdown_grace_s,
            access_log=None,
            print=None,
        )
    except (OSError, ConnectionError, MigrationError) as error:
        log.error("service_failed_to_start", service="auth-gateway", error=str(error))
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
