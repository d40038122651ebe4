"""Least privilege: the services' database role may read and write rows but never change the schema.

`connector migrate` runs as the schema's owner and, when `DATABASE_APP_ROLE` names the services'
role, grants it exactly what the services need, now and for tables later migrations create.
"""

from __future__ import annotations

import re

import asyncpg
import structlog

from common.errors import MigrationError

log = structlog.get_logger(__name__)

# PostgreSQL identifiers as a DBA would name a role; anything else is refused before any SQL runs.
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
SCHEMA = "public"

SELECT_ROLE_EXISTS = "SELECT 1 FROM pg_roles WHERE rolname = $1"
SELECT_CURRENT_USER = "SELECT current_user"


def _grant_statements(role: str) -> list[str]:
    # `role` is validated against _ROLE_NAME and quoted: GRANT cannot take it as a parameter.
    quoted = f'"{role}"'
    return [
        f"GRANT USAGE ON SCHEMA {SCHEMA} TO {quoted}",
        # PostgreSQL before 15 lets every role create objects in `public`: nobody but the owner may
        f"REVOKE CREATE ON SCHEMA {SCHEMA} FROM PUBLIC",
        f"REVOKE CREATE ON SCHEMA {SCHEMA} FROM {quoted}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {SCHEMA} TO {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {SCHEMA} TO {quoted}",
        # the services read the ledger to refuse an old schema; only migrations write it
        f"REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM {quoted}",
        # tables and sequences the owner creates in later migrations are covered without a new grant
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {SCHEMA} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {quoted}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {SCHEMA} GRANT USAGE, SELECT ON SEQUENCES TO {quoted}",
    ]


def check_role_name(role: str) -> str:
    """The role name if it is a plain lower-case identifier; MigrationError otherwise."""
    if not _ROLE_NAME.fullmatch(role):
        raise MigrationError(
            "DATABASE_APP_ROLE must be a lower-case PostgreSQL role name (letters, digits, _; at most 63)"
        )
    return role


async def grant_app_role(conn: asyncpg.Connection, role: str) -> None:
    """Grant `role` row access to every table of the schema, and to tables created later.

    Runs as the schema owner (the migrating role), in one transaction: all grants or none.

    Raises:
        MigrationError: the name is not a plain identifier, the role does not exist, or it is
            the migrating role itself (the services would then own the schema).
    """
    check_role_name(role)
    if await conn.fetchval(SELECT_ROLE_EXISTS, role) is None:
        raise MigrationError(
            f"DATABASE_APP_ROLE {role} does not exist: create it first (CREATE ROLE {role} LOGIN PASSWORD ...)"
        )
    if await conn.fetchval(SELECT_CURRENT_USER) == role:
        raise MigrationError(
            "DATABASE_APP_ROLE names the role that runs the migrations: the services need a role of their own"
        )
    try:
        async with conn.transaction():
            for statement in _grant_statements(role):
                await conn.execute(statement)
    except asyncpg.PostgresError as error:
        # e.g. the migrating role does not own every table: say so in one line, grant nothing
        raise MigrationError(f"granting {role} failed: {error}") from error
    log.info("app_role_granted", role=role)
