"""The `Sandbox`: the fake BigCommerce's data (`SandboxData`) plus the control API tests drive it with."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Coroutine, Sequence
from datetime import datetime
from typing import Any

from bigcommerce_sandbox import oauth, persistence, webhooks
from bigcommerce_sandbox.builders import AddressSpec, LineSpec, build_order
from bigcommerce_sandbox.data import SandboxData
from bigcommerce_sandbox.errors import SandboxError
from bigcommerce_sandbox.faults import FaultSet
from bigcommerce_sandbox.models import (
    PLAN_QUOTAS,
    Address,
    CallbackCall,
    Delivery,
    Hook,
    Order,
    RequestRecord,
    Store,
    User,
)
from bigcommerce_sandbox.oauth import AuthCallback


class Sandbox(SandboxData):
    """A fake BigCommerce: login service, marketplace pages, v2 orders API and v3 hooks.

    Args:
        app: the registered app (credentials, callback URLs, requested scopes).
        clock: UNIX-seconds clock for dates, code expiry, JWTs and rate-limit windows.
        rate_limit_window_s: length of the rate-limit window (30 s on BigCommerce).
        allow_insecure_destinations: accept hook destinations that are not https on port 443.
            BigCommerce refuses those; local demos and tests need plain http on a free port.
        code_ttl_s: lifetime of an authorization code (undocumented on BigCommerce).
        seed: seeds the fault probabilities.
        webhook_timeout_s: how long a delivery or server-to-server callback may take.
        state_path: where `save()` keeps the stores, tokens and hooks across restarts (the demo);
            None keeps everything in memory only.
    """

    # -- URLs -------------------------------------------------------------------------------

    def bind(self, base_url: str) -> None:
        """Record where the HTTP app is served (the runner calls this)."""
        self._base_url = base_url.rstrip("/")

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise SandboxError("the sandbox is not being served; use run_sandbox()")
        return self._base_url

    @property
    def api_url(self) -> str:
        """What the connector sets as BIGCOMMERCE_API_URL."""
        return self.base_url

    @property
    def login_url(self) -> str:
        """What the connector sets as BIGCOMMERCE_LOGIN_URL."""
        return self.base_url

    @property
    def marketplace_url(self) -> str:
        return f"{self.base_url}/marketplace"

    # -- stores and orders ------------------------------------------------------------------

    def create_store(
        self,
        store_hash: str | None = None,
        *,
        name: str = "Sandbox Store",
        plan_name: str = "Standard",
        weight_units: str = "Grams",
        owner_email: str = "owner@example.com",
        rate_quota: int | None = None,
    ) -> Store:
        """Create an empty store (not yet installed). Quota follows the plan unless given."""
        store_hash = store_hash or secrets.token_hex(5)
        if store_hash in self.stores:
            raise SandboxError(f"store {store_hash} exists")
        store = Store(
            hash=store_hash,
            store_id=self.next_store_id,
            name=name,
            owner=User(id=10_000 + len(self.stores), email=owner_email),
            plan_name=plan_name,
            weight_units=weight_units,
            rate_quota=rate_quota if rate_quota is not None else PLAN_QUOTAS.get(plan_name, 150),
        )
        self.next_store_id += 1
        self.stores[store_hash] = store
        return store

    def add_user(self, store_hash: str, email: str) -> User:
        """Add an authorized (non-owner) control-panel user to a store."""
        store = self.store(store_hash)
        user = User(id=20_000 + sum(len(s.users) for s in self.stores.values()), email=email)
        store.users.append(user)
        return user

    def add_order(
        self,
        store_hash: str,
        lines: Sequence[LineSpec] = (LineSpec(),),
        *,
        addresses: Sequence[AddressSpec] | None = None,
        status_id: int = 9,
        created: datetime | None = None,
        modified: datetime | None = None,
        billing: Address | None = None,
        customer_message: str = "",
        is_deleted: bool = False,
    ) -> Order:
        """Add one order with explicit lines (default: one physical line, Awaiting Shipment)."""
        when = created or self.now()
        return build_order(
            self.store(store_hash),
            lines=lines,
            addresses=addresses,
            status_id=status_id,
            created=when,
            modified=modified,
            billing=billing,
            customer_message=customer_message,
            is_deleted=is_deleted,
        )

    def order(self, store_hash: str, order_id: int) -> Order:
        """An order of a store."""
        order = self.store(store_hash).orders.get(order_id)
        if order is None:
            raise SandboxError(f"no order {order_id} in store {store_hash}")
        return order

    def set_rate_limit(self, store_hash: str, quota: int) -> None:
        """Change a store's per-window quota (takes effect on the next request)."""
        self.store(store_hash).rate_quota = quota

    # -- faults and request log -------------------------------------------------------------

    def faults(self, store_hash: str) -> FaultSet:
        """The fault set of a store's API requests."""
        return self._faults.setdefault(store_hash, FaultSet(self._seed))

    def requests(self, store_hash: str) -> list[RequestRecord]:
        """Every API request served for a store, oldest first."""
        return self._requests.setdefault(store_hash, [])

    def record_request(self, store_hash: str, record: RequestRecord) -> None:
        self.requests(store_hash).append(record)

    def clear_requests(self, store_hash: str | None = None) -> None:
        """Forget the request log of one store (or of all)."""
        if store_hash is None:
            self._requests.clear()
        else:
            self._requests.pop(store_hash, None)

    # -- OAuth, install and uninstall -------------------------------------------------------

    def issue_token(self, store_hash: str, scopes: Sequence[str] | None = None) -> str:
        """Mint an access token directly, skipping the install flow."""
        return oauth.issue_token(self, store_hash, scopes or self.config.scopes)

    def authorize(
        self, store_hash: str, *, scopes: Sequence[str] | None = None, user_id: int | None = None
    ) -> AuthCallback:
        """Install the app as the merchant's Confirm would; returns the auth callback query."""
        return oauth.authorize(self, store_hash, scopes=scopes, user_id=user_id)

    def signed_payload(self, store_hash: str, *, user_id: int | None = None, **claims: Any) -> str:
        """A `signed_payload_jwt` for the load/uninstall/remove_user callbacks."""
        return oauth.signed_payload(self, store_hash, user_id=user_id, **claims)

    def revoke_tokens(self, store_hash: str) -> int:
        """Invalidate every token of a store without any callback; returns how many."""
        return oauth.revoke_tokens(self, store_hash)

    def uninstall(self, store_hash: str) -> str:
        """Uninstall the app: revoke tokens, delete its hooks; returns the uninstall JWT."""
        return oauth.uninstall(self, store_hash)

    async def uninstall_and_notify(self, store_hash: str) -> CallbackCall:
        """Uninstall, then call the app's uninstall callback as BigCommerce's servers do."""
        token = self.uninstall(store_hash)
        return await self.call_app(self.config.uninstall_callback_url, token)

    async def remove_user(self, store_hash: str, user_id: int) -> CallbackCall:
        """Call the app's remove_user callback for a user of the store."""
        token = self.signed_payload(store_hash, user_id=user_id)
        return await self.call_app(self.config.remove_user_callback_url, token)

    async def call_app(self, url: str, jwt_token: str) -> CallbackCall:
        """GET `url?signed_payload_jwt=...` server-to-server and record the outcome."""
        call = await oauth.call_callback(self.http_session(), url, jwt_token, self.clock)
        self.callback_calls.append(call)
        return call

    # -- webhooks ---------------------------------------------------------------------------

    def create_hook(
        self,
        store_hash: str,
        scope: str,
        destination: str,
        *,
        headers: dict[str, str] | None = None,
        is_active: bool = True,
        client_id: str | None = None,
    ) -> Hook:
        """Register a hook directly (no validation), as if created through the API."""
        now = int(self.clock())
        hook = Hook(
            id=self.next_hook_id,
            client_id=client_id or self.config.client_id,
            store_hash=store_hash,
            scope=scope,
            destination=destination,
            is_active=is_active,
            headers=dict(headers or {}),
            created_at=now,
            updated_at=now,
        )
        self.next_hook_id += 1
        self.hooks[hook.id] = hook
        return hook

    async def emit_order_status_updated(
        self, store_hash: str, order_id: int, new_status_id: int
    ) -> list[Delivery]:
        """Change an order's status as a merchant would and deliver the webhooks now."""
        order = self.order(store_hash, order_id)
        previous = order.status_id
        order.status_id = new_status_id
        order.date_modified = self.now()
        return await webhooks.deliver_status_updated(self, store_hash, order_id, previous, new_status_id)

    async def emit(self, store_hash: str, scope: str, data: dict[str, Any]) -> list[Delivery]:
        """Deliver an event of `scope` to every active matching hook now."""
        return await webhooks.deliver(self, store_hash, scope, data)

    def emit_later(self, store_hash: str, scope: str, data: dict[str, Any]) -> None:
        """Deliver in the background, as an API-triggered event is (see `drain`)."""
        self.spawn(webhooks.deliver(self, store_hash, scope, data))

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run `coro` in the background, tracked so `drain` and `close` can wait for it."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait until background deliveries have finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Release hung requests, finish deliveries and close the client session."""
        self.closing.set()
        await self.drain()
        if self._session is not None:
            await self._session.close()

    # -- persistence ------------------------------------------------------------------------

    def restore(self) -> bool:
        """Load the state saved at `state_path`; False when there is none (or no path)."""
        return self.state_path is not None and persistence.load(self, self.state_path)

    def save(self) -> None:
        """Write the state to `state_path` (nothing without one); called after every change."""
        if self.state_path is not None:
            persistence.save(self, self.state_path)
