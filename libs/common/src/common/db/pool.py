"""The asyncpg pool every service opens at start."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import structlog

from common.db.errors import SERVER_ERRORS, DatabaseUnavailableError
from common.db.migrate import require_current_schema
from common.db.session_state import reset_pooled_connection
from common.errors import MigrationError

log = structlog.get_logger(__name__)

# How long closing a pool waits for connections still in use before it cuts them.
CLOSE_TIMEOUT_S = 10.0

Pool = asyncpg.Pool
Connection = asyncpg.Connection


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb in and out as Python objects, so no module formats JSON by hand
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def connect(*args: Any, **kwargs: Any) -> asyncpg.Connection:
    """asyncpg's connect, with a refusal by the server (failover, restart, too many) as a server error.

    PostgreSQL refuses a connection with an ordinary SQLSTATE ("not currently accepting connections"
    is 55000), which would otherwise look like a bug to every retry loop. A database that does not
    exist stays what it is: that is a deployment mistake, not a failover.
    """
    try:
        return await asyncpg.connect(*args, **kwargs)
    except asyncpg.InvalidCatalogNameError:
        raise
    except asyncpg.PostgresError as error:
        raise DatabaseUnavailableError(
            f"PostgreSQL refused the connection ({error.sqlstate}): {error}"
        ) from error


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """Open a pool; fails fast when PostgreSQL is unreachable."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        connect=connect,
        init=_init_connection,
        reset=reset_pooled_connection,
        command_timeout=30,
        server_settings={"application_name": "bigcommerce-connector", "timezone": "UTC"},
    )
    assert pool is not None
    return pool


@asynccontextmanager
async def open_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, close_timeout_s: float = CLOSE_TIMEOUT_S
) -> AsyncIterator[asyncpg.Pool]:
    """A pool for the lifetime of the block, on a database migrated to this release's schema.

    Closing waits for connections still in use at most `close_timeout_s`, then cuts them: a shutdown
    never hangs on a connection some task forgot to give back.

    Raises:
        MigrationError: the database does not exist or lacks a migration (fail fast at boot).
    """
    try:
        pool = await create_pool(dsn, min_size=min_size, max_size=max_size)
    except asyncpg.InvalidCatalogNameError:
        raise MigrationError("the database does not exist: run `connector migrate` first") from None
    try:
        await require_current_schema(pool)
        yield pool
    finally:
        try:
            await asyncio.wait_for(pool.close(), close_timeout_s)
        except TimeoutError:
            log.warning("database_pool_close_timed_out", waited_s=close_timeout_s)
            pool.terminate()


async def ping(pool: asyncpg.Pool) -> bool:
    """True when the database answers `SELECT 1`."""
    try:
        return bool(await pool.fetchval("SELECT 1", timeout=2))
    except (*SERVER_ERRORS, asyncpg.PostgresError):
        return False
