"""Verification of BigCommerce's `signed_payload_jwt` (reference §2.1): HS256 with the client secret only."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import jwt
from common.text import without_nul

ALGORITHMS = ["HS256"]  # one algorithm only: no "none", no HS512/RS256 confusion
ISSUER = "bc"
# What CONTRACT §4 checks; iat, jti, user, owner are informational and may be absent.
REQUIRED_CLAIMS = ["exp", "nbf", "aud", "iss", "sub"]
_SUB = re.compile(r"^stores/(?P<hash>[A-Za-z0-9]{1,64})$")
MAX_JWT_LENGTH = 8192
# PostgreSQL's timestamps end long before what an integer claim can say
_LATEST_EXPIRY = 253_402_300_799.0  # 9999-12-31T23:59:59Z
_MAX_USER_ID = 2**63 - 1  # a bigint column
# a jti stored as it is; anything else (absent, odd, long) is remembered by the token's digest
_JTI = re.compile(r"^[\x21-\x7e]{1,128}$")


class SignedPayloadError(Exception):
    """The JWT is missing, malformed, forged, expired, not yet valid or not meant for this app."""


@dataclass(frozen=True)
class CallbackUser:
    id: int
    email: str


@dataclass(frozen=True)
class SignedPayload:
    """The verified claims the callbacks use."""

    store_hash: str
    user: CallbackUser | None
    owner: CallbackUser | None
    # what makes it one-shot: its jti, or the digest of the whole token when it has no usable jti
    replay_key: str
    expires_at: float
    # BigCommerce's iat; None when absent (then no install can be said to be newer)
    issued_at: int | None


def verify_signed_payload(
    token: str | None, *, client_id: str, client_secret: str, leeway_s: int
) -> SignedPayload:
    """Verify a `signed_payload_jwt` and return its claims.

    Raises:
        SignedPayloadError: with a short reason safe to show (never the token).
    """
    if not token:
        raise SignedPayloadError("signed_payload_jwt is missing")
    if len(token) > MAX_JWT_LENGTH:
        raise SignedPayloadError("signed_payload_jwt is too long")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            client_secret,
            algorithms=ALGORITHMS,
            audience=client_id,
            issuer=ISSUER,
            leeway=leeway_s,
            # iat is not checked: nbf already says from when the token is valid
            options={"require": REQUIRED_CLAIMS, "verify_signature": True, "verify_iat": False},
        )
    except jwt.ExpiredSignatureError:
        raise SignedPayloadError("signed_payload_jwt has expired") from None
    except jwt.ImmatureSignatureError:
        raise SignedPayloadError("signed_payload_jwt is not valid yet") from None
    except jwt.InvalidAudienceError:
        raise SignedPayloadError("signed_payload_jwt is for another app") from None
    except jwt.InvalidIssuerError:
        raise SignedPayloadError("signed_payload_jwt was not issued by BigCommerce") from None
    except jwt.MissingRequiredClaimError as error:
        raise SignedPayloadError(f"signed_payload_jwt lacks the {error.claim} claim") from None
    except jwt.InvalidAlgorithmError:
        raise SignedPayloadError("signed_payload_jwt is not signed with HS256") from None
    except jwt.InvalidSignatureError:
        raise SignedPayloadError("signed_payload_jwt has a bad signature") from None
    except jwt.InvalidTokenError:
        raise SignedPayloadError("signed_payload_jwt is malformed") from None
    sub = claims.get("sub")
    match = _SUB.match(sub) if isinstance(sub, str) else None
    if match is None:
        raise SignedPayloadError("signed_payload_jwt names no store (sub is not stores/{hash})")
    jti = claims.get("jti")
    iat = claims.get("iat")
    return SignedPayload(
        store_hash=match["hash"],
        user=_user(claims.get("user")),
        owner=_user(claims.get("owner")),
        replay_key=(
            f"jti:{jti}"
            if isinstance(jti, str) and _JTI.match(jti)
            else "sha256:" + hashlib.sha256(token.encode()).hexdigest()
        ),
        # remembered past exp by the leeway, since that long it would still verify
        expires_at=min(float(claims["exp"]) + leeway_s, _LATEST_EXPIRY),
        issued_at=int(iat) if isinstance(iat, int | float) and not isinstance(iat, bool) else None,
    )


def _user(value: object) -> CallbackUser | None:
    if not isinstance(value, dict):
        return None
    user_id = value.get("id")
    # documented as a number; a decimal string is read the same way
    if isinstance(user_id, str) and user_id.isascii() and user_id.isdigit():
        user_id = int(user_id)
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not 0 <= user_id <= _MAX_USER_ID:
        return None
    email = value.get("email")
    # NUL cannot be stored; other text from BigCommerce passes unchanged (CONTRACT §3)
    return CallbackUser(id=user_id, email=without_nul(email)[:320] if isinstance(email, str) else "")
