"""LISTEN for download requests on a dedicated connection, to wake the poll loop early."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import structlog
from common.db.channels import POLL_REQUESTED_CHANNEL

log = structlog.get_logger(__name__)


@asynccontextmanager
async def listen_for_download_requests(dsn: str, on_request: Callable[[], None]) -> AsyncIterator[None]:
    """Call `on_request` on every NOTIFY of `connector_poll_requested`.

    Only a wake-up: the due time in channels.next_download_at is the durable request, and the
    loop looks at it every few seconds anyway, so a lost connection delays a download, never drops it.
    """

    def notified(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
        log.debug("download_request_notified", channel_id=payload)
        on_request()

    closing = False

    def terminated(_conn: Any) -> None:
        # asyncpg calls this for every end of the connection, our own close included (soon after
        # it); only an end we did not ask for is a loss worth a warning
        if not closing:
            log.warning("download_request_listener_lost")

    conn = await asyncpg.connect(dsn)
    try:
        conn.add_termination_listener(terminated)
        await conn.add_listener(POLL_REQUESTED_CHANNEL, notified)
        yield
    finally:
        closing = True
        if not conn.is_closed():
            await conn.close()
            log.info("download_request_listener_closed")
