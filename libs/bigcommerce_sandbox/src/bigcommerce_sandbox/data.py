"""The fake BigCommerce's data and the lookups on it, apart from what changes it.

`Sandbox` (sandbox.py) is this plus the operations tests and routes drive; the modules it drives
(oauth, webhooks, persistence) need only the data, so they depend on this and never on `Sandbox`:
no module of the package imports one that imports it back.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

from bigcommerce_sandbox.clock import UnixClock, system_clock, to_datetime
from bigcommerce_sandbox.errors import SandboxError
from bigcommerce_sandbox.faults import FaultSet
from bigcommerce_sandbox.models import (
    AppConfig,
    AuthCode,
    CallbackCall,
    Delivery,
    Hook,
    RequestRecord,
    Store,
    Token,
)
from bigcommerce_sandbox.ratelimit import RateLimiter

# Well-known credentials of the fake app: they open nothing outside the sandbox.
DEFAULT_APP = AppConfig.for_base_url(
    "http://127.0.0.1:8080",
    client_id="sandbox-client-id",
    client_secret="sandbox-client-secret-not-for-production-use",  # noqa: S106
)


class SandboxData:
    """Stores, tokens, codes, hooks and deliveries, the clock, and the HTTP session for callbacks."""

    def __init__(
        self,
        app: AppConfig | None = None,
        *,
        clock: UnixClock = system_clock,
        rate_limit_window_s: float = 30.0,
        allow_insecure_destinations: bool = False,
        code_ttl_s: float = 600.0,
        seed: int = 0,
        webhook_timeout_s: float = 10.0,
        state_path: Path | None = None,
    ) -> None:
        self.config = app or DEFAULT_APP
        self.clock = clock
        self.allow_insecure_destinations = allow_insecure_destinations
        self.code_ttl_s = code_ttl_s
        self.webhook_timeout_s = webhook_timeout_s
        self.state_path = state_path
        self.rate_limiter = RateLimiter(clock, rate_limit_window_s)
        self.stores: dict[str, Store] = {}
        self.tokens: dict[str, Token] = {}
        self.codes: dict[str, AuthCode] = {}
        self.hooks: dict[int, Hook] = {}
        self.deliveries: list[Delivery] = []
        self.callback_calls: list[CallbackCall] = []
        # Older real token responses lack `owner` and `account_uuid` (reference §1.2).
        self.legacy_token_response = False
        # Older docs show the webhook `store_id` as a number, not a string (reference §8.3).
        self.numeric_webhook_store_id = False
        self.login_faults = FaultSet(seed)
        self.closing = asyncio.Event()
        self._seed = seed
        self._faults: dict[str, FaultSet] = {}
        self._requests: dict[str, list[RequestRecord]] = {}
        self.next_hook_id = 1
        self.next_store_id = 1_000_001
        self._base_url: str | None = None
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def now(self) -> datetime:
        """The sandbox clock as an aware UTC datetime."""
        return to_datetime(self.clock())

    def store(self, store_hash: str) -> Store:
        """The store with this hash."""
        try:
            return self.stores[store_hash]
        except KeyError:
            raise SandboxError(f"no store {store_hash}") from None

    def hooks_for(self, store_hash: str, client_id: str | None = None) -> list[Hook]:
        """A store's hooks (of one app when `client_id` is given), by id."""
        return [
            h
            for h in sorted(self.hooks.values(), key=lambda h: h.id)
            if h.store_hash == store_hash and (client_id is None or h.client_id == client_id)
        ]

    def http_session(self) -> aiohttp.ClientSession:
        """The client session for deliveries and callbacks, opened on first use."""
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=self.webhook_timeout_s)
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session
