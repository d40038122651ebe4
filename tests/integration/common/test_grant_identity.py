"""A token's identity is its grant generation, not its ciphertext: re-encryption stops nothing, a new grant does."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from common.crypto import TokenCipher, generate_key
from common.db.channels import mark_reauthorization_required
from order_poller.db.schedule import claim_due_channels
from order_poller.guard import ChannelGuard, ChannelStoppedError, poll_lease
from status_writer.db.stores import channel_still_writable

OLD, NEW = generate_key(), generate_key()


async def channel(pool: asyncpg.Pool) -> uuid.UUID:
    channel_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO channels (id, store_hash, status, access_token_encrypted, grant_generation)"
        " VALUES ($1, $2, 'active', $3, 1)",
        channel_id,
        f"s{channel_id.hex[:8]}",
        TokenCipher([OLD]).encrypt("access-token-0123456789"),
    )
    return channel_id


async def reencrypt(pool: asyncpg.Pool, channel_id: uuid.UUID) -> None:
    """What `connector rotate-keys` does to a row: new ciphertext, same grant."""
    old = await pool.fetchval("SELECT access_token_encrypted FROM channels WHERE id = $1", channel_id)
    rotated = TokenCipher([NEW, OLD]).rotate(old)
    assert rotated != old
    await pool.execute("UPDATE channels SET access_token_encrypted = $2 WHERE id = $1", channel_id, rotated)


async def new_grant(pool: asyncpg.Pool, channel_id: uuid.UUID) -> None:
    """What a reinstall does: a new token, the next generation."""
    await pool.execute(
        "UPDATE channels SET access_token_encrypted = $2, grant_generation = grant_generation + 1 WHERE id = $1",
        channel_id,
        TokenCipher([NEW]).encrypt("another-access-token-0123"),
    )


async def test_a_running_poll_survives_re_encryption_and_stops_on_a_new_grant(pool: asyncpg.Pool) -> None:
    channel_id = await channel(pool)
    # on the database's clock, like the production loop
    (claimed,) = await claim_due_channels(
        pool, owner="poller-1", now=None, lease_until=None, limit=1, lease_s=60
    )
    guard = ChannelGuard(
        poll_lease(pool, claimed, owner="poller-1", lease_s=60, clock=None),
        claimed.grant_generation,
        stopping=asyncio.Event(),
        recheck_interval_s=0,
    )
    await reencrypt(pool, channel_id)
    await guard.check()  # still the same token
    await new_grant(pool, channel_id)
    with pytest.raises(ChannelStoppedError, match="token changed"):
        await guard.check()


async def test_a_running_flush_survives_re_encryption_and_stops_on_a_new_grant(pool: asyncpg.Pool) -> None:
    channel_id = await channel(pool)
    await pool.execute("UPDATE channels SET mark_orders_as_despatched = true WHERE id = $1", channel_id)
    assert await channel_still_writable(pool, channel_id, 1)
    await reencrypt(pool, channel_id)
    assert await channel_still_writable(pool, channel_id, 1)  # still the same grant
    await new_grant(pool, channel_id)
    assert not await channel_still_writable(pool, channel_id, 1)


async def test_a_401_flags_the_channel_only_for_the_grant_that_was_refused(pool: asyncpg.Pool) -> None:
    channel_id = await channel(pool)
    await reencrypt(pool, channel_id)
    await new_grant(pool, channel_id)  # a reinstall raced the 401 of generation 1
    assert not await mark_reauthorization_required(pool, channel_id, 1)
    assert await pool.fetchval("SELECT status FROM channels WHERE id = $1", channel_id) == "active"
    assert await mark_reauthorization_required(pool, channel_id, 2)
