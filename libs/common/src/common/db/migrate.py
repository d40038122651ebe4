"""Forward-only numbered SQL migrations, applied under an advisory lock (safe with replicas starting together)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import asyncpg
import structlog

from common.db.advisory_locks import MIGRATIONS, lock, unlock
from common.db.grants import check_role_name, grant_app_role
from common.errors import MigrationError

log = structlog.get_logger(__name__)

# Any constant shared by every migrator; replicas serialise on it.
_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")

CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
SELECT_APPLIED = "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
INSERT_APPLIED = "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations() -> list[Migration]:
    """The migration files shipped in `common.db.migrations`, in version order."""
    found: list[Migration] = []
    for entry in resources.files("common.db.migrations").iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_NAME.match(entry.name)
        if match is None:
            raise MigrationError(f"migration file name {entry.name!r} is not NNNN_name.sql")
        found.append(Migration(int(match["version"]), match["name"], entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise MigrationError(f"two migration files share a version: {versions}")
    return found


SELECT_APPLIED_VERSIONS = "SELECT version FROM schema_migrations"


async def require_current_schema(conn: asyncpg.Connection | asyncpg.Pool) -> None:
    """Refuse to run on a database that lacks a migration this release ships.

    A newer schema is fine (a rollout runs the migration Job before the new pods), an older one
    would fail later on the first query that needs it.

    Raises:
        MigrationError: naming what is missing and the command that adds it.
    """
    try:
        applied = {row["version"] for row in await conn.fetch(SELECT_APPLIED_VERSIONS)}
    except asyncpg.UndefinedTableError:
        applied = set()
    missing = [m for m in load_migrations() if m.version not in applied]
    if missing:
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in missing)
        raise MigrationError(f"the database lacks migrations {names}: run `connector migrate` first")


async def ensure_database(dsn: str) -> bool:
    """Create the database named in `dsn` when it does not exist; True when it was created."""
    try:
        conn = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        pass
    else:
        await conn.close()
        return False
    params = _parse_database(dsn)
    admin = await asyncpg.connect(params.admin_dsn)
    try:
        # replicas starting together serialise here; the loser finds the database made
        await lock(admin, MIGRATIONS)
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", params.database)
        if exists:
            return False
        await admin.execute(f'CREATE DATABASE "{params.database}"')
    finally:
        await admin.close()  # closing the session releases the lock
    log.info("database_created", database=params.database)
    return True


@dataclass(frozen=True)
class _DatabaseDsn:
    database: str
    admin_dsn: str


def _parse_database(dsn: str) -> _DatabaseDsn:
    head, _, query = dsn.partition("?")
    base, _, database = head.rpartition("/")
    if not database or not re.fullmatch(r"[A-Za-z0-9_\-]+", database):
        raise MigrationError("DATABASE_URL must name a database made of letters, digits, _ or -")
    admin = f"{base}/postgres" + (f"?{query}" if query else "")
    return _DatabaseDsn(database=database, admin_dsn=admin)


async def migrate(dsn: str, *, create_database: bool = True, app_role: str | None = None) -> list[int]:
    """Apply every pending migration; returns the versions applied by this call.

    With `app_role`, that role is then granted row access to every table (and to tables later
    migrations create), never the right to change the schema.
    """
    if app_role is not None:
        check_role_name(app_role)  # before anything is created or applied
    if create_database:
        await ensure_database(dsn)
    migrations = load_migrations()
    conn = await asyncpg.connect(dsn)
    try:
        # session-level lock: held across the per-migration transactions below
        await lock(conn, MIGRATIONS)
        try:
            await conn.execute(CREATE_LEDGER)
            applied = {row["version"]: row for row in await conn.fetch(SELECT_APPLIED)}
            done: list[int] = []
            for migration in migrations:
                previous = applied.get(migration.version)
                if previous is not None:
                    if previous["checksum"] != migration.checksum:
                        raise MigrationError(
                            f"migration {migration.version:04d}_{migration.name} changed after it was applied"
                        )
                    continue
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(INSERT_APPLIED, migration.version, migration.name, migration.checksum)
                log.info("migration_applied", version=migration.version, name=migration.name)
                done.append(migration.version)
            if app_role is not None:
                await grant_app_role(conn, app_role)
            return done
        finally:
            await unlock(conn, MIGRATIONS)
    finally:
        await conn.close()
