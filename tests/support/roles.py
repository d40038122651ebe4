"""A login role made for one test on the shared PostgreSQL server, and dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg


def with_user(dsn: str, user: str) -> str:
    """`dsn` with its user replaced (the local server trusts every role, so no password)."""
    parts = urlsplit(dsn)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{user}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


@asynccontextmanager
async def temporary_role(server_url: str, database_url: str) -> AsyncIterator[str]:
    """A uniquely named LOGIN role; its grants in `database_url` and the role are removed at exit."""
    role = f"bcc_app_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE ROLE "{role}" LOGIN')
    finally:
        await admin.close()
    try:
        yield role
    finally:
        # roles are server-wide: revoke what the test's database granted, then drop the role
        database = await asyncpg.connect(database_url)
        try:
            await database.execute(f'DROP OWNED BY "{role}"')
        except asyncpg.InvalidCatalogNameError:
            pass
        finally:
            await database.close()
        admin = await asyncpg.connect(server_url)
        try:
            await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        finally:
            await admin.close()
