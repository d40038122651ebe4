"""signed_payload_jwt verification: only HS256 with the client secret, right audience, issuer, times and sub."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import jwt
import pytest
from auth_gateway.jwt_verify import SignedPayloadError, verify_signed_payload
from auth_gateway.settings import GatewaySettings
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID = "client-id-1"
SECRET = "s" * 64


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "aud": CLIENT_ID,
        "iss": "bc",
        "iat": now,
        "nbf": now - 5,
        "exp": now + 3600,
        "jti": "j-1",
        "sub": "stores/abc123",
        "user": {"id": 7, "email": "u@example.com"},
        "owner": {"id": 1, "email": "o@example.com"},
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload: dict[str, Any], key: str = SECRET, alg: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=alg)


def verify(token: str | None) -> Any:
    return verify_signed_payload(token, client_id=CLIENT_ID, client_secret=SECRET, leeway_s=30)


def test_valid_token_gives_store_and_users() -> None:
    payload = verify(sign(claims()))
    assert payload.store_hash == "abc123"
    assert payload.user is not None
    assert payload.user.id == 7
    assert payload.owner is not None
    assert payload.owner.id == 1


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _rsa_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


FORGERIES = {
    "wrong key": lambda: sign(claims(), key="k" * 64),
    "alg none": lambda: f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims())}.",
    "HS512": lambda: sign(claims(), alg="HS512"),
    "expired": lambda: sign(claims(exp=int(time.time()) - 120)),
    "not yet valid": lambda: sign(claims(nbf=int(time.time()) + 600)),
    "wrong audience": lambda: sign(claims(aud="another-app")),
    "wrong issuer": lambda: sign(claims(iss="evil")),
    "no exp": lambda: sign(claims(exp=None)),
    "no nbf": lambda: sign(claims(nbf=None)),
    "no aud": lambda: sign(claims(aud=None)),
    "no iss": lambda: sign(claims(iss=None)),
    "no sub": lambda: sign(claims(sub=None)),
    "malformed sub": lambda: sign(claims(sub="stores/../x")),
    "sub not a store": lambda: sign(claims(sub="users/abc")),
    "garbage": lambda: "not.a.jwt",
    "empty": lambda: "",
}


@pytest.mark.parametrize("kind", sorted(FORGERIES))
def test_forged_or_invalid_tokens_are_refused(kind: str) -> None:
    with pytest.raises(SignedPayloadError):
        verify(FORGERIES[kind]())


def test_rs256_token_is_refused() -> None:
    with pytest.raises(SignedPayloadError, match="HS256"):
        verify(jwt.encode(claims(), _rsa_pem(), algorithm="RS256"))


def test_small_clock_skew_is_tolerated() -> None:
    now = int(time.time())
    assert verify(sign(claims(nbf=now + 10, iat=now + 10))).store_hash == "abc123"
    assert verify(sign(claims(exp=now - 10))).store_hash == "abc123"


def test_missing_token_is_refused() -> None:
    with pytest.raises(SignedPayloadError, match="missing"):
        verify(None)


def test_only_the_contract_claims_are_required() -> None:
    minimal = claims(iat=None, jti=None, user=None, owner=None)
    assert set(minimal) == {"aud", "iss", "nbf", "exp", "sub"}
    token = sign(minimal)
    payload = verify(token)
    assert (payload.store_hash, payload.user, payload.owner, payload.issued_at) == (
        "abc123",
        None,
        None,
        None,
    )
    # without a jti the token itself is what may be used once
    assert payload.replay_key == "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def test_replay_key_is_the_jti_and_the_jwt_is_remembered_until_exp_plus_leeway() -> None:
    now = int(time.time())
    payload = verify(sign(claims(jti="3f0c-jti", iat=now, exp=now + 600)))
    assert payload.replay_key == "jti:3f0c-jti"
    assert payload.expires_at == now + 600 + 30
    assert payload.issued_at == now


@pytest.mark.parametrize("jti", ["", "x" * 129, "has space", "nul\x00"])
def test_an_unusable_jti_falls_back_to_the_token_digest(jti: object) -> None:
    token = sign(claims(jti=jti))
    assert verify(token).replay_key == "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def test_out_of_range_user_ids_and_nul_in_emails_cannot_reach_the_database() -> None:
    assert verify(sign(claims(user={"id": 2**63, "email": "u@example.com"}))).user is None
    assert verify(sign(claims(user={"id": -1}))).user is None
    payload = verify(sign(claims(user={"id": 7, "email": "u\x00@example.com"})))
    assert payload.user is not None
    assert payload.user.email == "u@example.com"


def test_a_far_future_exp_is_remembered_within_what_postgresql_can_store() -> None:
    assert verify(sign(claims(exp=2**62))).expires_at <= 253_402_300_799


def test_iat_is_informational() -> None:
    # a token issued "later" by a skewed clock is still valid from its nbf
    assert verify(sign(claims(iat=int(time.time()) + 3600))).store_hash == "abc123"


def test_user_id_may_be_a_decimal_string() -> None:
    payload = verify(sign(claims(user={"id": "24654", "email": "u@example.com"})))
    assert payload.user is not None
    assert payload.user.id == 24654
    assert verify(sign(claims(user={"id": "x1"}))).user is None


def test_default_leeway_refuses_a_token_valid_only_in_half_a_minute() -> None:
    leeway = GatewaySettings.model_fields["jwt_leeway_seconds"].default
    now = int(time.time())
    with pytest.raises(SignedPayloadError, match="not valid yet"):
        verify_signed_payload(
            sign(claims(nbf=now + 30)), client_id=CLIENT_ID, client_secret=SECRET, leeway_s=leeway
        )
    with pytest.raises(SignedPayloadError, match="expired"):
        verify_signed_payload(
            sign(claims(exp=now - 30)), client_id=CLIENT_ID, client_secret=SECRET, leeway_s=leeway
        )
    # the docs' own example: nbf 5 s before iat
    token = sign(claims(iat=now, nbf=now - 5))
    assert verify_signed_payload(token, client_id=CLIENT_ID, client_secret=SECRET, leeway_s=leeway)
