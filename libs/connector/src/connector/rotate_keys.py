"""`connector rotate-keys`: re-encrypt every stored secret with the first TOKEN_ENCRYPTION_KEYS key.

Safe while the services run, with any number of replicas: rows are read in small batches and
written back by compare-and-set, so a token a running gateway replaced meanwhile is never
overwritten (it is looked at again). Nothing compares ciphertexts to tell tokens apart (the
grant generation does that), so a running poller or writer does not notice the rewrite.
Afterwards every key but the first can be removed from TOKEN_ENCRYPTION_KEYS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog
from common.crypto import TokenCipher, TokenDecryptionError
from common.db.encrypted import (
    ENCRYPTED_COLUMNS,
    Ciphertext,
    EncryptedColumn,
    read_batch,
    read_one,
    replace_unchanged,
)

if TYPE_CHECKING:
    import asyncpg

log = structlog.get_logger(__name__)

# a row changed by a service this many times during one rotation is left for the next run
_MAX_RETRIES = 5


@dataclass
class RotationReport:
    rotated: int = 0
    already_current: int = 0
    unreadable: dict[str, int] = field(default_factory=dict)
    gave_up: int = 0

    @property
    def complete(self) -> bool:
        """Every stored secret is now under the first key: the others can be removed."""
        return not self.unreadable and not self.gave_up


async def rotate_keys(pool: asyncpg.Pool, cipher: TokenCipher, *, batch_size: int = 100) -> RotationReport:
    """Re-encrypt every ciphertext not yet under the first key, batch by batch."""
    report = RotationReport()
    for column in ENCRYPTED_COLUMNS:
        after = None
        while batch := await read_batch(pool, column, after=after, limit=batch_size):
            await _rotate_batch(pool, cipher, column, batch, report)
            after = batch[-1].id
    log.info(
        "keys_rotated",
        rotated=report.rotated,
        already_current=report.already_current,
        unreadable=sum(report.unreadable.values()),
        gave_up=report.gave_up,
    )
    return report


async def _rotate_batch(
    pool: asyncpg.Pool,
    cipher: TokenCipher,
    column: EncryptedColumn,
    batch: list[Ciphertext],
    report: RotationReport,
) -> None:
    pending = batch
    for _ in range(_MAX_RETRIES):
        replacements: list[tuple[Ciphertext, bytes]] = []
        for row in pending:
            if cipher.is_current(row.value):
                report.already_current += 1
                continue
            try:
                replacements.append((row, cipher.rotate(row.value)))
            except TokenDecryptionError:
                report.unreadable[column.name] = report.unreadable.get(column.name, 0) + 1
                log.error("stored_secret_unreadable", column=column.name, row_id=str(row.id))
        written = await replace_unchanged(pool, column, replacements)
        report.rotated += len(written)
        # changed by a running service since it was read: read it again and decide afresh
        pending = []
        for row, _ in replacements:
            if row.id not in written:
                value = await read_one(pool, column, row.id)
                if value is not None:
                    pending.append(Ciphertext(row.id, value))
        if not pending:
            return
    report.gave_up += len(pending)
    log.warning("stored_secrets_kept_changing", column=column.name, rows=len(pending))
