"""`signed_payload_jwt`s already accepted, by jti, so each one authorises one callback only."""

from __future__ import annotations

import asyncpg

# An expired entry is taken over; a live one means a replay. Every replica shares the table.
CLAIM = """
INSERT INTO callback_jwts_used (jti, expires_at) VALUES ($1, to_timestamp($2))
ON CONFLICT (jti) DO UPDATE SET expires_at = EXCLUDED.expires_at
 WHERE callback_jwts_used.expires_at < now()
RETURNING jti
"""


async def claim_jwt(conn: asyncpg.Connection, replay_key: str, expires_at: float) -> bool:
    """Record a JWT as used until `expires_at` (UNIX seconds); False when it was used already.

    Run it in the transaction of the callback's effect: a callback that fails leaves the JWT unused.
    """
    return await conn.fetchval(CLAIM, replay_key, expires_at) is not None


PURGE_EXPIRED = "DELETE FROM callback_jwts_used WHERE expires_at < now()"


async def purge_expired_jwts(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    """Forget JWTs past their expiry (they are refused as expired anyway); returns how many."""
    result: str = await conn.execute(PURGE_EXPIRED)
    return int(result.rsplit(" ", 1)[-1])
