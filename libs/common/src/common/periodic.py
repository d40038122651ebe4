"""A periodic job's loop, written once: every interval, a server outage waited out, a bug not hidden.

The retention sweep and the gateway's webhook check run this way. A server failure (the database
unreachable, a connection cut) is not the job's fault: it is tried again after a capped backoff rather
than a whole interval later. Anything else is a bug: it ends the task, and supervision
(`common.supervision`) takes the process down so the orchestrator restarts it, instead of a job that
fails quietly every day.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from common.backoff import Backoff, BackoffFactory
from common.db.errors import is_server_error

log = structlog.get_logger(__name__)


async def run_periodically(
    job: Callable[[], Awaitable[object]],
    *,
    name: str,
    interval_s: float,
    first_after_s: float = 0.0,
    backoff: BackoffFactory = Backoff,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Run `job` after `first_after_s`, then every `interval_s`, until cancelled.

    A server failure logs `<name>_waiting_for_server` and retries after the backoff's next delay
    (never later than the interval); any other exception propagates.
    """
    retries = backoff()
    wait_s = first_after_s
    while True:
        await sleep(wait_s)
        try:
            await job()
        except Exception as error:
            if not is_server_error(error):
                raise
            wait_s = min(interval_s, retries.next_delay())
            log.warning(f"{name}_waiting_for_server", error=type(error).__name__, retry_in_s=round(wait_s, 3))
        else:
            retries.reset()
            wait_s = interval_s
