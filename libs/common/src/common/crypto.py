"""Encryption of stored OAuth tokens with rotating Fernet keys (the first key encrypts, all decrypt)."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from common.errors import ConnectorError


class TokenDecryptionError(ConnectorError):
    """A stored token was encrypted with a key that is no longer configured, or was altered."""


class TokenCipher:
    """Encrypts access tokens for storage; decrypts with any configured key so keys can rotate."""

    def __init__(self, keys: Sequence[SecretStr | str]) -> None:
        if not keys:
            raise ValueError("at least one Fernet key is required")
        raw = [k.get_secret_value() if isinstance(k, SecretStr) else k for k in keys]
        self._fernet = MultiFernet([Fernet(key.encode()) for key in raw])

    def encrypt(self, token: str) -> bytes:
        return self._fernet.encrypt(token.encode())

    def decrypt(self, ciphertext: bytes) -> str:
        try:
            return self._fernet.decrypt(ciphertext).decode()
        except InvalidToken:
            raise TokenDecryptionError("stored token cannot be decrypted with the configured keys") from None

    def rotate(self, ciphertext: bytes) -> bytes:
        """Re-encrypt with the first (current) key."""
        return self._fernet.rotate(ciphertext)


def generate_key() -> str:
    """A new Fernet key (for TOKEN_ENCRYPTION_KEYS)."""
    return Fernet.generate_key().decode()
