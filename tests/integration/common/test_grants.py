"""`connector migrate` with DATABASE_APP_ROLE: the services' role reads and writes rows, never the schema."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from common.db.migrate import migrate, require_current_schema
from common.errors import MigrationError

from tests.support.roles import temporary_role, with_user
from tests.support.servers import Servers

CONNECTOR = Path(sys.executable).parent / "connector"


@pytest.fixture
async def app_role(servers: Servers, database_url: str) -> AsyncIterator[str]:
    async with temporary_role(servers.postgres_url, database_url) as role:
        yield role


async def as_role(database_url: str, role: str) -> asyncpg.Connection:
    return await asyncpg.connect(with_user(database_url, role))


def run_migrate(database_url: str, role: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "DATABASE_URL": database_url, "DATABASE_APP_ROLE": role}
    return subprocess.run(
        [str(CONNECTOR), "migrate"], env=env, capture_output=True, text=True, timeout=60, check=False
    )


async def test_app_role_reads_and_writes_rows_but_cannot_change_the_schema(
    database_url: str, app_role: str
) -> None:
    before = await as_role(database_url, app_role)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await before.fetch("SELECT * FROM channels")  # nothing granted yet
    finally:
        await before.close()

    result = run_migrate(database_url, app_role)
    assert result.returncode == 0, result.stderr

    conn = await as_role(database_url, app_role)
    try:
        await require_current_schema(conn)  # what every service does at start
        await conn.execute(
            "INSERT INTO webhook_deliveries_seen (store_hash, hash, expires_at) VALUES ('s', 'h', now())"
        )
        await conn.execute("UPDATE webhook_deliveries_seen SET hash = 'h2' WHERE store_hash = 's'")
        assert await conn.fetchval("SELECT count(*) FROM webhook_deliveries_seen") == 1
        await conn.execute("DELETE FROM webhook_deliveries_seen")
        # a bigserial table: the sequence is usable too
        await conn.execute(
            "INSERT INTO outbox (event_id, event_type, routing_key, body) "
            "VALUES (gen_random_uuid(), 'E', 'k', '{}')"
        )
        await conn.fetch("SELECT * FROM channel_order_counts")  # views are covered
        for ddl in (
            "CREATE TABLE intruder (id int)",
            "ALTER TABLE channels ADD COLUMN intruder int",
            "DROP TABLE outbox",
            "CREATE INDEX intruder_idx ON channels (store_hash)",
            "TRUNCATE outbox",
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'x', 'x')",
            "DELETE FROM schema_migrations",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(ddl)
    finally:
        await conn.close()


async def test_tables_created_by_later_migrations_are_granted_by_default(
    database_url: str, app_role: str
) -> None:
    await migrate(database_url, app_role=app_role)
    owner = await asyncpg.connect(database_url)
    try:
        await owner.execute("CREATE TABLE later_migration (id bigserial PRIMARY KEY, note text)")
    finally:
        await owner.close()
    conn = await as_role(database_url, app_role)
    try:
        await conn.execute("INSERT INTO later_migration (note) VALUES ('granted by default')")
        assert await conn.fetchval("SELECT note FROM later_migration") == "granted by default"
    finally:
        await conn.close()


async def test_a_missing_or_hostile_role_is_refused_with_one_line(database_url: str) -> None:
    with pytest.raises(MigrationError, match="does not exist: create it first"):
        await migrate(database_url, app_role="bcc_no_such_role_here")
    with pytest.raises(MigrationError, match="lower-case PostgreSQL role name"):
        await migrate(database_url, app_role='x"; DROP TABLE channels; --')
    with pytest.raises(MigrationError, match="the services need a role of their own"):
        await migrate(database_url, app_role="postgres")
    owner = await asyncpg.connect(database_url)
    try:
        assert await owner.fetchval("SELECT count(*) FROM channels") == 0  # still there
    finally:
        await owner.close()


def test_command_names_the_bad_setting_without_a_traceback(database_url: str) -> None:
    result = run_migrate(database_url, "Not A Role")
    assert result.returncode != 0
    assert "DATABASE_APP_ROLE" in result.stderr
    assert "Traceback" not in result.stderr
