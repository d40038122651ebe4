"""The resources request handlers share, built once per process by the app's cleanup contexts."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web
from common.bigcommerce.client import BigCommerceClient
from common.crypto import TokenCipher

from auth_gateway.settings import GatewaySettings

if TYPE_CHECKING:
    import asyncpg


class GatewayError(Exception):
    """Base of the gateway's own errors."""


@dataclass
class Gateway:
    """Settings plus the open pool, token cipher, HTTP session and BigCommerce client."""

    settings: GatewaySettings
    pool: asyncpg.Pool
    cipher: TokenCipher
    http: aiohttp.ClientSession
    bigcommerce: BigCommerceClient
    notify_outbox: Callable[[], None]


GATEWAY_KEY = web.AppKey("gateway", Gateway)


def new_webhook_secret() -> str:
    """A random per-store secret BigCommerce sends back in a header on every delivery."""
    return secrets.token_urlsafe(32)


def secret_digest(secret: str) -> bytes:
    """The SHA-256 a random secret is stored and looked up by (webhook secrets, launch tokens, sessions)."""
    return hashlib.sha256(secret.encode("utf-8", errors="surrogatepass")).digest()
