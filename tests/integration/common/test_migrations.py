"""Migrations: every file applies to an empty database, reruns are no-ops, concurrent runs are safe."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from common.crypto import generate_key
from common.db.migrate import load_migrations, migrate
from common.db.pool import open_pool
from common.errors import MigrationError

from tests.support.servers import Servers, with_database

MIGRATIONS_DIR = Path(__file__).parents[3] / "libs/common/src/common/db/migrations"


@pytest.fixture
async def empty_database_url(servers: Servers) -> AsyncIterator[str]:
    """The DSN of a database that does not exist yet (migrate must create it)."""
    name = f"bcc_empty_{uuid.uuid4().hex[:12]}"
    yield with_database(servers.postgres_url, name)
    admin = await asyncpg.connect(servers.postgres_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def test_migration_files_are_numbered_in_order_without_duplicates() -> None:
    files = sorted(p.name for p in MIGRATIONS_DIR.glob("*.sql"))
    migrations = load_migrations()
    assert [f"{m.version:04d}_{m.name}.sql" for m in migrations] == files
    versions = [m.version for m in migrations]
    # ranges of numbers are handed out per piece of work, so a range may be partly unused
    assert versions[0] == 1
    assert versions == sorted(set(versions))


async def test_migrate_creates_the_database_and_applies_everything_once(empty_database_url: str) -> None:
    applied = await migrate(empty_database_url)
    again = await migrate(empty_database_url)

    assert applied == [m.version for m in load_migrations()]
    assert again == []
    conn = await asyncpg.connect(empty_database_url)
    try:
        ledger = await conn.fetch("SELECT version, checksum FROM schema_migrations ORDER BY version")
        tables = {
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
    finally:
        await conn.close()
    assert [r["version"] for r in ledger] == applied
    assert {"channels", "outbox", "schema_migrations"} <= tables


async def test_a_changed_migration_is_refused(empty_database_url: str) -> None:
    await migrate(empty_database_url)
    conn = await asyncpg.connect(empty_database_url)
    try:
        await conn.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
    finally:
        await conn.close()

    with pytest.raises(MigrationError, match="changed after it was applied"):
        await migrate(empty_database_url)


async def test_concurrent_migrate_commands_apply_each_migration_once(empty_database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": empty_database_url, "LOG_FORMAT": "json"}
    runs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "connector",
            "migrate",
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    results = await asyncio.gather(*(run.communicate() for run in runs))

    assert [run.returncode for run in runs] == [0, 0, 0], [err.decode() for _, err in results]
    counts = sorted(int(out.decode().split(":")[1].split()[0]) for out, _ in results)
    assert counts == [0, 0, len(load_migrations())]
    conn = await asyncpg.connect(empty_database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == len(load_migrations())
    finally:
        await conn.close()


async def test_services_refuse_a_database_that_is_missing_or_behind(empty_database_url: str) -> None:
    with pytest.raises(MigrationError, match="does not exist: run `connector migrate`"):
        async with open_pool(empty_database_url):
            pass

    await migrate(empty_database_url)
    conn = await asyncpg.connect(empty_database_url)
    try:
        await conn.execute("DELETE FROM schema_migrations WHERE version = $1", load_migrations()[-1].version)
    finally:
        await conn.close()
    with pytest.raises(MigrationError, match=r"lacks migrations .*: run `connector migrate` first"):
        async with open_pool(empty_database_url):
            pass


async def test_a_service_started_before_migrate_exits_with_one_clear_line(empty_database_url: str) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": empty_database_url,
        "BIGCOMMERCE_CLIENT_ID": "client",
        "TOKEN_ENCRYPTION_KEYS": generate_key(),
        "HTTP_PORT": "0",
    }
    poller = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "order-poller"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(poller.communicate(), 60)

    assert poller.returncode == 1
    assert "run `connector migrate` first" in err.decode()
    assert "Traceback" not in err.decode()
