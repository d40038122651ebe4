"""LISTEN for download requests on a dedicated connection, to wake the poll loop early; reconnects when cut."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import structlog
from common.backoff import Backoff, BackoffFactory
from common.db.channels import POLL_REQUESTED_CHANNEL
from common.db.errors import SERVER_ERRORS
from common.db.pool import connect
from common.supervision import finish, spawn

log = structlog.get_logger(__name__)


class _Listener:
    """One LISTEN connection at a time; a lost one is replaced, with backoff while the server is down."""

    def __init__(self, dsn: str, on_request: Callable[[], None], backoff: BackoffFactory) -> None:
        self._dsn = dsn
        self._on_request = on_request
        self._backoff = backoff
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._closing = False

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        log.debug("download_request_notified", channel_id=payload)
        self._on_request()

    def _terminated(self, conn: Any) -> None:
        # asyncpg calls this for every end of the connection, our own close included (soon after
        # it); only an end we did not ask for is a loss worth a warning
        if not self._closing and conn is self._conn:
            log.warning("download_request_listener_lost")
            self._lost.set()

    async def connect(self) -> None:
        conn = await connect(self._dsn)
        self._conn = conn
        conn.add_termination_listener(self._terminated)
        await conn.add_listener(POLL_REQUESTED_CHANNEL, self._notified)

    async def keep_listening(self) -> None:
        """Replace the connection whenever it is lost, until cancelled."""
        while True:
            await self._lost.wait()
            self._lost.clear()
            # a notification sent while nobody listened is lost: look at the schedule once now
            self._on_request()
            backoff = self._backoff()
            while True:
                try:
                    await self.connect()
                    break
                except SERVER_ERRORS as error:
                    delay = backoff.next_delay()
                    log.warning(
                        "download_request_listener_waiting_for_server",
                        error=type(error).__name__,
                        retry_in_s=round(delay, 3),
                    )
                    await asyncio.sleep(delay)
            log.info("download_request_listener_restored")
            self._on_request()

    async def close(self) -> None:
        self._closing = True
        if self._conn is not None and not self._conn.is_closed():
            with contextlib.suppress(*SERVER_ERRORS):
                await self._conn.close()
            log.info("download_request_listener_closed")


@asynccontextmanager
async def listen_for_download_requests(
    dsn: str, on_request: Callable[[], None], *, backoff: BackoffFactory = Backoff
) -> AsyncIterator[None]:
    """Call `on_request` on every NOTIFY of `connector_poll_requested`.

    Only a wake-up: the due time in channels.next_download_at is the durable request, and the
    loop looks at it every few seconds anyway, so a lost connection delays a download, never drops
    it. A lost connection is replaced (and `on_request` called, for what it may have missed).
    """
    listener = _Listener(dsn, on_request, backoff)
    await listener.connect()  # fails fast at boot, like the pool
    task = spawn(listener.keep_listening(), name="order-poller:listener")
    try:
        yield
    finally:
        await finish(task)
        await listener.close()
