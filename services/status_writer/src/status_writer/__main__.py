"""`uv run status-writer`: settings, logging, then the writer until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio

from common.lifecycle import run_service
from common.logging import configure_logging
from common.settings import load_settings

from status_writer.service import run
from status_writer.settings import WriterSettings


def main() -> None:
    settings = load_settings(WriterSettings)
    configure_logging(settings.log_level, settings.log_format)

    async def service(stop: asyncio.Event) -> None:
        await run(settings, stop)

    run_service("status-writer", service)


if __name__ == "__main__":
    main()
