"""The process lifecycle every service shares: signals set a stop flag, resources close in reverse."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import uuid
from collections.abc import Awaitable, Callable

import structlog

from common.errors import MigrationError

log = structlog.get_logger(__name__)


def replica_id() -> str:
    """A name unique to this process, for the leases it holds: host (pod name) and pid plus a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT only set `stop`; the service then drains and exits."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


def run_service(name: str, main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run `main(stop)` until it returns; exits non-zero when it fails (Kubernetes restarts the pod)."""

    async def runner() -> None:
        stop = asyncio.Event()
        install_stop_signals(stop)
        log.info("service_starting", service=name)
        await main(stop)
        log.info("service_stopped", service=name)

    try:
        asyncio.run(runner())
    except (OSError, ConnectionError, MigrationError) as error:
        log.error("service_failed_to_start", service=name, error=str(error))
        raise SystemExit(1) from None
