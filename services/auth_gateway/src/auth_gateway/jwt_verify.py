"""Verification of BigCommerce's `signed_payload_jwt` (reference §2.1): HS256 with the client secret only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import jwt

ALGORITHMS = ["HS256"]  # one algorithm only: no "none", no HS512/RS256 confusion
ISSUER = "bc"
# What CONTRACT §4 checks; iat, jti, user, owner are informational and may be absent.
REQUIRED_CLAIMS = ["exp", "nbf", "aud", "iss", "sub"]
_SUB = re.compile(r"^stores/(?P<hash>[A-Za-z0-9]{1,64})$")
MAX_JWT_LENGTH = 8192


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
    jti: str | None


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
    return SignedPayload(
        store_hash=match["hash"],
        user=_user(claims.get("user")),
        owner=_user(claims.get("owner")),
        jti=jti if isinstance(jti, str) else None,
    )


def _user(value: object) -> CallbackUser | None:
    if not isinstance(value, dict):
        return None
    user_id = value.get("id")
    # documented as a number; a decimal string is read the same way
    if isinstance(user_id, str) and user_id.isascii() and user_id.isdigit():
        user_id = int(user_id)
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        return None
    email = value.get("email")
    return CallbackUser(id=user_id, email=email if isinstance(email, str) else "")
