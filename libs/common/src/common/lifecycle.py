"""The process lifecycle every service shares: signals set a stop flag, resources close in reverse."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import uuid
from collections.abc import Awaitable, Callable

import structlog

from common.db.errors import SERVER_ERRORS
from common.errors import MigrationError
from common.supervision import Supervisor, supervising

log = structlog.get_logger(__name__)


def replica_id() -> str:
    """A name unique to this process, for the leases it holds: host (pod name) and pid plus a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT only set `stop`; the service then drains and exits."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


# at boot: a dependency that is down now fails fast; the orchestrator retries the pod
BOOT_FAILURES: tuple[type[Exception], ...] = (*SERVER_ERRORS, MigrationError)


class ServiceCrashedError(Exception):
    """A background task died; the process drained and must exit non-zero so it is restarted."""


def run_service(name: str, main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run `main(stop)` until it returns; exits non-zero when it fails (Kubernetes restarts the pod).

    Every task `main` starts with `common.supervision.spawn` is watched: one that dies sets `stop`,
    the process drains as on SIGTERM, and exits 1 after the one `background_task_died` line.
    """

    async def runner() -> None:
        stop = asyncio.Event()
        install_stop_signals(stop)
        with supervising(Supervisor.for_event(stop)) as supervisor:
            log.info("service_starting", service=name)
            await main(stop)
        if supervisor.failure is not None:
            raise ServiceCrashedError(supervisor.failure)
        log.info("service_stopped", service=name)

    try:
        asyncio.run(runner())
    except ServiceCrashedError as crashed:
        log.error("service_stopped", service=name, reason=f"background task {crashed} died")
        raise SystemExit(1) from None
    except BOOT_FAILURES as error:
        log.error("service_failed_to_start", service=name, error=str(error))
        raise SystemExit(1) from None
    except Exception as error:
        log.critical("service_crashed", service=name, error=type(error).__name__, exc_info=error)
        raise SystemExit(1) from None
