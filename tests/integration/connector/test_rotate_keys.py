"""`connector rotate-keys`: every stored secret re-encrypted under the first key, by compare-and-set, replica-safe."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import asyncpg
from common.crypto import TokenCipher, generate_key
from common.db.encrypted import ENCRYPTED_COLUMNS, Ciphertext, replace_unchanged
from connector.rotate_keys import rotate_keys
from cryptography.fernet import Fernet

CONNECTOR = Path(sys.executable).parent / "connector"

INSERT = """
INSERT INTO channels (id, store_hash, status, access_token_encrypted, webhook_secret_encrypted, grant_generation)
VALUES ($1, $2, $3, $4, $5, 7)
"""


async def seed(pool: asyncpg.Pool, cipher: TokenCipher, count: int) -> dict[uuid.UUID, tuple[str, str]]:
    """`count` active channels with a token and a webhook secret, plus one disconnected (no token)."""
    plain: dict[uuid.UUID, tuple[str, str]] = {}
    for n in range(count):
        channel_id = uuid.uuid4()
        token, secret = f"access-token-{n:04d}-0123456789", f"webhook-secret-{n:04d}-0123456789"
        await pool.execute(
            INSERT, channel_id, f"store{n}", "active", cipher.encrypt(token), cipher.encrypt(secret)
        )
        plain[channel_id] = (token, secret)
    await pool.execute(
        INSERT, uuid.uuid4(), "gone", "disconnected", None, cipher.encrypt("kept-secret-000000")
    )
    return plain


async def test_two_replicas_rotate_everything_once_and_the_old_key_can_go(pool: asyncpg.Pool) -> None:
    old, new = generate_key(), generate_key()
    plain = await seed(pool, TokenCipher([old]), 7)
    before = {r["id"]: r["updated_at"] for r in await pool.fetch("SELECT id, updated_at FROM channels")}

    both = TokenCipher([new, old])
    reports = await asyncio.gather(*(rotate_keys(pool, both, batch_size=2) for _ in range(2)))

    assert all(report.complete for report in reports)
    assert sum(r.rotated for r in reports) == 7 * 2 + 1  # each ciphertext once, whichever replica
    only_new = Fernet(new.encode())
    for row in await pool.fetch("SELECT * FROM channels"):
        assert row["grant_generation"] == 7  # rotation is not a new grant
        assert row["updated_at"] == before[row["id"]]
        if row["id"] in plain:
            token, secret = plain[row["id"]]
            assert only_new.decrypt(row["access_token_encrypted"]).decode() == token
            assert only_new.decrypt(row["webhook_secret_encrypted"]).decode() == secret
    again = await rotate_keys(pool, both)
    assert (again.rotated, again.already_current) == (0, 15)


async def test_a_secret_no_key_decrypts_is_reported_and_blocks_dropping_keys(pool: asyncpg.Pool) -> None:
    lost, old, new = generate_key(), generate_key(), generate_key()
    await seed(pool, TokenCipher([old]), 1)
    await pool.execute(
        INSERT, uuid.uuid4(), "lost", "active", TokenCipher([lost]).encrypt("token-under-a-lost-key"), None
    )
    report = await rotate_keys(pool, TokenCipher([new, old]))
    assert not report.complete
    assert report.unreadable == {"channels.access_token_encrypted": 1}
    assert report.rotated == 3


async def test_compare_and_set_never_overwrites_a_token_changed_meanwhile(pool: asyncpg.Pool) -> None:
    old, new = generate_key(), generate_key()
    cipher = TokenCipher([new, old])
    (channel_id,) = await seed(pool, TokenCipher([old]), 1)
    column = ENCRYPTED_COLUMNS[0]
    read = Ciphertext(
        channel_id,
        await pool.fetchval("SELECT access_token_encrypted FROM channels WHERE store_hash = 'store0'"),
    )
    # a reinstall stores a new token between the read and the write
    reinstalled = cipher.encrypt("a-new-token-from-a-reinstall")
    await pool.execute(
        "UPDATE channels SET access_token_encrypted = $1 WHERE id = $2", reinstalled, channel_id
    )

    written = await replace_unchanged(pool, column, [(read, cipher.rotate(read.value))])

    assert written == set()
    stored = await pool.fetchval("SELECT access_token_encrypted FROM channels WHERE id = $1", channel_id)
    assert cipher.decrypt(stored) == "a-new-token-from-a-reinstall"


async def test_the_command_rotates_and_refuses_a_malformed_key_with_one_line(
    pool: asyncpg.Pool, database_url: str
) -> None:
    old, new = generate_key(), generate_key()
    await seed(pool, TokenCipher([old]), 2)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TOKEN_ENCRYPTION_KEYS": f"{new},{old}",
        "LOG_LEVEL": "WARNING",
    }

    done = await asyncio.create_subprocess_exec(
        str(CONNECTOR), "rotate-keys", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(done.communicate(), 60)
    assert done.returncode == 0, err
    assert "stored secrets re-encrypted: 5" in out.decode()
    assert old not in out.decode() + err.decode()

    env["TOKEN_ENCRYPTION_KEYS"] = "this-is-not-a-fernet-key"
    refused = await asyncio.create_subprocess_exec(
        str(CONNECTOR), "rotate-keys", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(refused.communicate(), 60)
    assert refused.returncode == 2
    (line,) = err.decode().strip().splitlines()
    assert line.startswith("configuration error: TOKEN_ENCRYPTION_KEYS: ")
