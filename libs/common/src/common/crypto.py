"""Encryption of stored secrets (access tokens, webhook secrets) with rotating Fernet keys.

The first key encrypts, every key decrypts. Each plaintext that passes through the cipher is
registered with `common.redaction`, so it is masked in any text that leaves the process.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from common.errors import ConnectorError
from common.redaction import register_secret


class TokenDecryptionError(ConnectorError):
    """A stored token was encrypted with a key that is no longer configured, or was altered."""


class TokenCipher:
    """Encrypts access tokens for storage; decrypts with any configured key so keys can rotate."""

    def __init__(self, keys: Sequence[SecretStr | str]) -> None:
        if not keys:
            raise ValueError("at least one Fernet key is required")
        raw = [k.get_secret_value() if isinstance(k, SecretStr) else k for k in keys]
        fernets = [Fernet(key.encode()) for key in raw]
        self._current = fernets[0]
        self._fernet = MultiFernet(fernets)

    def encrypt(self, token: str) -> bytes:
        register_secret(token)
        return self._fernet.encrypt(token.encode())

    def decrypt(self, ciphertext: bytes) -> str:
        try:
            token = self._fernet.decrypt(ciphertext).decode()
        except InvalidToken:
            raise TokenDecryptionError("stored token cannot be decrypted with the configured keys") from None
        register_secret(token)
        return token

    def is_current(self, ciphertext: bytes) -> bool:
        """Whether the first (current) key encrypted this ciphertext: then rotating it is pointless."""
        try:
            self._current.decrypt(ciphertext)
        except InvalidToken:
            return False
        return True

    def rotate(self, ciphertext: bytes) -> bytes:
        """Re-encrypt with the first (current) key.

        Raises:
            TokenDecryptionError: no configured key decrypts it.
        """
        try:
            return self._fernet.rotate(ciphertext)
        except InvalidToken:
            raise TokenDecryptionError("stored token cannot be decrypted with the configured keys") from None


def generate_key() -> str:
    """A new Fernet key (for TOKEN_ENCRYPTION_KEYS)."""
    return Fernet.generate_key().decode()
