"""Every column that holds Fernet ciphertext, read in batches and replaced by compare-and-set (key rotation)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class EncryptedColumn:
    """A bytea column of Fernet ciphertext, in a table keyed by a uuid `id`."""

    table: str
    column: str

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}"


# A new encrypted column belongs here, or `connector rotate-keys` leaves it under the old key.
ENCRYPTED_COLUMNS: tuple[EncryptedColumn, ...] = (
    EncryptedColumn("channels", "access_token_encrypted"),
    EncryptedColumn("channels", "webhook_secret_encrypted"),
)


@dataclass(frozen=True)
class Ciphertext:
    id: uuid.UUID
    value: bytes


async def read_batch(
    conn: asyncpg.Connection | asyncpg.Pool, column: EncryptedColumn, *, after: uuid.UUID | None, limit: int
) -> list[Ciphertext]:
    """The next `limit` non-null ciphertexts of a column in id order (keyset pagination)."""
    sql = (
        f"SELECT id, {column.column} AS value FROM {column.table}"
        f" WHERE {column.column} IS NOT NULL AND ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2"
    )
    return [Ciphertext(r["id"], r["value"]) for r in await conn.fetch(sql, after, limit)]


async def read_one(
    conn: asyncpg.Connection | asyncpg.Pool, column: EncryptedColumn, row_id: uuid.UUID
) -> bytes | None:
    value: bytes | None = await conn.fetchval(
        f"SELECT {column.column} FROM {column.table} WHERE id = $1", row_id
    )
    return value


async def replace_unchanged(
    conn: asyncpg.Connection | asyncpg.Pool,
    column: EncryptedColumn,
    replacements: list[tuple[Ciphertext, bytes]],
) -> set[uuid.UUID]:
    """Write each new ciphertext only where the old one is still stored; returns the ids written.

    Compare-and-set, one short statement per batch: a row a running service changed meanwhile
    (a reinstall stored a new token, a disconnect erased it) is left alone and reported missing.
    """
    if not replacements:
        return set()
    sql = (
        f"UPDATE {column.table} AS t SET {column.column} = r.new"
        " FROM unnest($1::uuid[], $2::bytea[], $3::bytea[]) AS r(id, old, new)"
        f" WHERE t.id = r.id AND t.{column.column} = r.old RETURNING t.id"
    )
    records = await conn.fetch(
        sql,
        [old.id for old, _ in replacements],
        [old.value for old, _ in replacements],
        [new for _, new in replacements],
    )
    return {r["id"] for r in records}
