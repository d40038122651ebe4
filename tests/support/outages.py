"""Server faults scoped to one test's own objects: its cloned database, its broker connections.

PostgreSQL and RabbitMQ are shared with other engineers' runs, so nothing here touches another
database or another connection: `ALTER DATABASE` and `pg_terminate_backend` only for the test's
database, `rabbitmqctl close_connection` only for connections found by the test's names and vhost.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import asyncpg

from tests.support.servers import with_database

TERMINATE_BACKENDS = """
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
 WHERE datname = $1 AND pid <> pg_backend_pid()
"""


def database_name(database_url: str) -> str:
    return urlsplit(database_url).path.lstrip("/")


async def _admin(database_url: str) -> asyncpg.Connection:
    # the maintenance database of the same server: the test's own database may refuse us
    return await asyncpg.connect(with_database(database_url, "postgres"))


async def terminate_backends(database_url: str) -> int:
    """Cut every connection to the test's database (as a failover or an admin would); returns how many."""
    admin = await _admin(database_url)
    try:
        count: int = await admin.fetchval(TERMINATE_BACKENDS, database_name(database_url))
        return count
    finally:
        await admin.close()


@asynccontextmanager
async def database_outage(database_url: str) -> AsyncIterator[None]:
    """The test's database refuses every new connection and loses the open ones, until the block ends."""
    name = database_name(database_url)
    assert name.startswith("bcc_test_"), "outages only ever hit a test's own database"
    admin = await _admin(database_url)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        await admin.fetchval(TERMINATE_BACKENDS, name)
        try:
            yield
        finally:
            await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
    finally:
        await admin.close()


_CONNECTION_NAME = re.compile(r'\{"connection_name","(?P<name>[^"]*)"\}')


async def _rabbitmqctl(*args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {args[0]} failed: {err.decode(errors='replace')}")
    return out.decode(errors="replace")


def vhost_of(amqp_url: str) -> str:
    return urlsplit(amqp_url).path.lstrip("/") or "/"


async def close_broker_connections(amqp_url: str, name_pattern: str) -> list[str]:
    """Close every connection of the test's vhost whose connection name matches `name_pattern`.

    Returns the names closed. The vhost is private to this test run, and the pattern names the
    test's own clients, so no other user's connection is ever touched.
    """
    vhost = vhost_of(amqp_url)
    assert vhost.startswith("bcc-test-"), "only a test run's private vhost"
    listing = await _rabbitmqctl(
        "list_connections", "--no-table-headers", "-q", "pid", "vhost", "client_properties"
    )
    closed: list[str] = []
    for line in listing.splitlines():
        pid, _, rest = line.partition("\t")
        conn_vhost, _, properties = rest.partition("\t")
        match = _CONNECTION_NAME.search(properties)
        if conn_vhost != vhost or match is None or not re.search(name_pattern, match["name"]):
            continue
        await _rabbitmqctl("close_connection", pid, "fault injected by a test")
        closed.append(match["name"])
    return closed
