"""Registration of the `store/order/statusUpdated` webhook with BigCommerce, and its periodic check."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Literal

import structlog
from common.bigcommerce.client import StoreApi
from common.bigcommerce.errors import BigCommerceError, InvalidRequest, NotFound, ReauthorizationRequired
from common.crypto import TokenDecryptionError
from common.db.advisory_locks import WEBHOOK_CHECK
from common.db.channels import mark_reauthorization_required
from common.leases import job_turn
from common.periodic import run_periodically
from common.redaction import redact_text
from prometheus_client import Counter
from pydantic import ValidationError

from auth_gateway.context import Gateway, new_webhook_secret, secret_digest
from auth_gateway.db.callback_jwts import purge_expired_jwts
from auth_gateway.db.channel_writes import get_hook_credentials, list_active_channel_ids
from auth_gateway.db.grants import set_webhook_secret
from auth_gateway.db.launches import purge_expired_launches
from auth_gateway.db.sessions import purge_expired_sessions
from auth_gateway.db.webhook_deliveries import purge_expired

log = structlog.get_logger(__name__)

HOOK_SCOPE = "store/order/statusUpdated"
WEBHOOK_HEADER = "X-Clickdrop-Webhook-Token"
# A callback or API request waits this long for BigCommerce at most; the periodic check repairs later.
REQUEST_PATH_TIMEOUT_S = 15.0

HookOutcome = Literal["created", "reactivated", "present", "skipped", "failed"]
HOOK_REGISTRATIONS = Counter(
    "gateway_webhook_registrations_total", "Webhook registrations and checks by outcome", ["outcome"]
)


async def ensure_hook(store: StoreApi, destination: str, secret: str) -> HookOutcome:
    """Make sure exactly our hook exists, is active and carries the store's current secret."""
    headers = {WEBHOOK_HEADER: secret}
    try:
        hooks = await store.list_hooks()
    except (NotFound, InvalidRequest) as error:
        # no way to look (an API without the list): register, BigCommerce allows one per destination
        log.info("webhook_list_unavailable", store_hash=store.store_hash, status=error.status)
        hooks = []
    for hook in hooks:
        if hook.scope != HOOK_SCOPE or hook.destination != destination:
            continue
        if hook.is_active and hook.headers.get(WEBHOOK_HEADER) == secret:
            return "present"
        # deactivated after failed deliveries or 90 days idle, or registered with an old secret
        await store.update_hook(hook.id, is_active=True, headers=headers)
        return "reactivated"
    await store.create_hook(HOOK_SCOPE, destination, headers)
    return "created"


async def register_hook(gateway: Gateway, channel_id: uuid.UUID) -> HookOutcome:
    """Register (or repair) an active channel's webhook; failures are recorded, never raised."""
    creds = await get_hook_credentials(gateway.pool, channel_id)
    if creds is None or creds.status != "active" or creds.access_token_encrypted is None:
        return "skipped"
    try:
        secret = await _webhook_secret(gateway, channel_id, creds.webhook_secret_encrypted)
        token = gateway.cipher.decrypt(creds.access_token_encrypted)
        store = gateway.bigcommerce.store(creds.store_hash, token, plan=creds.plan_name)
        async with asyncio.timeout(REQUEST_PATH_TIMEOUT_S):
            outcome = await ensure_hook(store, gateway.settings.webhook_destination, secret)
    except ReauthorizationRequired:
        await mark_reauthorization_required(gateway.pool, channel_id, creds.grant_generation)
        HOOK_REGISTRATIONS.labels("failed").inc()
        log.warning("webhook_registration_unauthorized", channel_id=str(channel_id))
        return "failed"
    except (BigCommerceError, TimeoutError, TokenDecryptionError, ValidationError) as error:
        # Not the channel's last_error: downloads and write-backs are unaffected (the poller polls
        # anyway), and BigCommerce refuses some destinations (plain http, ports other than 443).
        # The daily check and every load try again.
        HOOK_REGISTRATIONS.labels("failed").inc()
        log.warning("webhook_registration_failed", channel_id=str(channel_id), error=_describe(error))
        return "failed"
    HOOK_REGISTRATIONS.labels(outcome).inc()
    if outcome != "present":
        log.info("webhook_registered", channel_id=str(channel_id), outcome=outcome)
    return outcome


def _describe(error: Exception) -> str:
    # a ValidationError quotes its input, which may hold the hook's secret header
    return "unexpected response shape" if isinstance(error, ValidationError) else redact_text(str(error))


async def _webhook_secret(gateway: Gateway, channel_id: uuid.UUID, encrypted: bytes | None) -> str:
    if encrypted is not None:
        return gateway.cipher.decrypt(encrypted)
    secret = new_webhook_secret()
    await set_webhook_secret(gateway.pool, channel_id, gateway.cipher.encrypt(secret), secret_digest(secret))
    return secret


async def delete_hooks(gateway: Gateway, channel_id: uuid.UUID) -> None:
    """Remove our hooks as a disconnect initiated in Click & Drop begins.

    Only an active channel has hooks and a token that may be used: a disconnected channel's kept
    token and a refused one are never sent.
    """
    creds = await get_hook_credentials(gateway.pool, channel_id)
    if creds is None or creds.status != "active" or creds.access_token_encrypted is None:
        return
    try:
        token = gateway.cipher.decrypt(creds.access_token_encrypted)
        store = gateway.bigcommerce.store(creds.store_hash, token, plan=creds.plan_name)
        async with asyncio.timeout(REQUEST_PATH_TIMEOUT_S):
            for hook in await store.list_hooks():
                if hook.destination == gateway.settings.webhook_destination:
                    with contextlib.suppress(NotFound):
                        await store.delete_hook(hook.id)
    except (BigCommerceError, TimeoutError, TokenDecryptionError, ValidationError) as error:
        # the hook stays behind; deliveries to a disconnected channel trigger nothing
        log.warning("webhook_removal_failed", channel_id=str(channel_id), error=_describe(error))


async def check_all_hooks(gateway: Gateway) -> int:
    """The periodic check: every active channel's hook, then expired delivery hashes.

    Returns how many hooks were created or reactivated (0 when another replica is checking).
    """
    # one replica at a time runs the check, so two never create the same hook at once
    async with gateway.pool.acquire() as conn, job_turn(conn, WEBHOOK_CHECK) as mine:
        if not mine:
            return 0
        repaired = 0
        for channel_id in await list_active_channel_ids(conn):
            if await register_hook(gateway, channel_id) in ("created", "reactivated"):
                repaired += 1
        purged = await purge_expired(conn)
        # the security tables' expired rows go with the same daily round
        purged_jwts = await purge_expired_jwts(conn)
        purged_launches = await purge_expired_launches(conn)
        purged_sessions = await purge_expired_sessions(conn)
    log.info(
        "webhooks_checked",
        repaired=repaired,
        purged_hashes=purged,
        purged_jwts=purged_jwts,
        purged_launches=purged_launches,
        purged_sessions=purged_sessions,
    )
    return repaired


async def run_hook_checks(gateway: Gateway, interval_s: float) -> None:
    """Run `check_all_hooks` every `interval_s` until cancelled (the first after one interval: load
    and activation cover startup); a database outage is waited out, a bug ends the task."""
    await run_periodically(
        lambda: check_all_hooks(gateway),
        name="webhook_check",
        interval_s=interval_s,
        first_after_s=interval_s,
    )
