"""Webhook delivery: the documented callback payload POSTed with each hook's custom headers."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any

import aiohttp

from bigcommerce_sandbox.models import Delivery, Hook

if TYPE_CHECKING:
    from bigcommerce_sandbox.data import SandboxData

log = logging.getLogger(__name__)

# Scopes a hook may subscribe to (the ones this integration can meet; reference §8.2).
KNOWN_SCOPES = frozenset(
    {
        "store/order/*",
        "store/order/created",
        "store/order/updated",
        "store/order/archived",
        "store/order/statusUpdated",
        "store/order/message/created",
        "store/order/refund/created",
        "store/order/email/updated",
        "store/shipment/*",
        "store/shipment/created",
        "store/shipment/updated",
        "store/shipment/deleted",
        "store/app/uninstalled",
        "store/information/updated",
    }
)


def scope_matches(subscribed: str, event_scope: str) -> bool:
    """Whether a hook on `subscribed` (possibly a `/*` wildcard) receives `event_scope`."""
    if subscribed.endswith("/*"):
        return event_scope.startswith(subscribed[:-1])
    return subscribed == event_scope


def build_payload(
    store_id: int | str, store_hash: str, scope: str, data: dict[str, Any], created_at: int
) -> dict[str, Any]:
    """The callback body (reference §8.3); `hash` is an unkeyed SHA-1 for de-duplication.

    `store_id` is sent as given: a string as documented, or an int as older docs show.
    """
    payload: dict[str, Any] = {
        "scope": scope,
        "store_id": store_id,
        "data": data,
        "created_at": created_at,
        "producer": f"stores/{store_hash}",
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    payload["hash"] = hashlib.sha1(canonical, usedforsecurity=False).hexdigest()
    return payload


async def _post(sandbox: SandboxData, hook: Hook, payload: dict[str, Any]) -> Delivery:
    headers = {**hook.headers, "Content-Type": "application/json"}
    status: int | None = None
    error: str | None = None
    try:
        async with sandbox.http_session().post(
            hook.destination, data=json.dumps(payload), headers=headers
        ) as response:
            await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        error = type(exc).__name__
    log.info(
        "webhook_delivered hook_id=%s scope=%s status=%s error=%s", hook.id, payload["scope"], status, error
    )
    return Delivery(
        hook_id=hook.id,
        destination=hook.destination,
        scope=payload["scope"],
        payload=payload,
        headers=dict(hook.headers),
        status=status,
        error=error,
        at=sandbox.clock(),
    )


async def deliver(sandbox: SandboxData, store_hash: str, scope: str, data: dict[str, Any]) -> list[Delivery]:
    """POST one event to every active hook of the store whose scope matches; record each."""
    store = sandbox.store(store_hash)
    hooks = [h for h in sandbox.hooks_for(store_hash) if h.is_active and scope_matches(h.scope, scope)]
    if not hooks:
        return []
    store_id = store.store_id if sandbox.numeric_webhook_store_id else str(store.store_id)
    payload = build_payload(store_id, store_hash, scope, data, int(sandbox.clock()))
    deliveries = await asyncio.gather(*(_post(sandbox, hook, payload) for hook in hooks))
    sandbox.deliveries.extend(deliveries)
    return list(deliveries)


async def deliver_status_updated(
    sandbox: SandboxData, store_hash: str, order_id: int, previous: int, new: int
) -> list[Delivery]:
    """A status change fires `statusUpdated` and, separately, `updated` (reference §8.2)."""
    status_data = {
        "type": "order",
        "id": order_id,
        "status": {"previous_status_id": previous, "new_status_id": new},
    }
    first = await deliver(sandbox, store_hash, "store/order/statusUpdated", status_data)
    second = await deliver(sandbox, store_hash, "store/order/updated", {"type": "order", "id": order_id})
    return first + second
