"""`POST /bigcommerce/webhooks`: authenticate a delivery by its store's secret, drop duplicates, wake the poller."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

import structlog
from aiohttp import web
from common.db.channels import request_download
from prometheus_client import Counter

from auth_gateway.context import GATEWAY_KEY, secret_digest
from auth_gateway.db.channel_writes import get_webhook_target
from auth_gateway.db.webhook_deliveries import remember_delivery
from auth_gateway.webhook_registration import WEBHOOK_HEADER

log = structlog.get_logger(__name__)

WEBHOOKS_RECEIVED = Counter("gateway_webhooks_received_total", "Webhook deliveries by outcome", ["outcome"])
_PRODUCER = re.compile(r"^stores/(?P<hash>[A-Za-z0-9]{1,64})$")
_HASH = re.compile(r"^[\x21-\x7e]{1,128}$")


def delivery_hash(payload: dict[str, object], raw: bytes) -> str:
    """BigCommerce's `hash` (SHA-1 of the payload) to deduplicate on; computed when it is absent."""
    given = payload.get("hash")
    if isinstance(given, str) and _HASH.match(given):
        return given
    return hashlib.sha1(raw, usedforsecurity=False).hexdigest()


def _plain(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/plain")


async def receive(request: web.Request) -> web.Response:
    """Answer 200 at once for a genuine delivery; the download itself runs in the poller."""
    gateway = request.app[GATEWAY_KEY]
    raw = await request.read()  # larger than client_max_size: 413 from aiohttp
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        WEBHOOKS_RECEIVED.labels("malformed").inc()
        return _plain(400, "body is not JSON")
    producer = payload.get("producer") if isinstance(payload, dict) else None
    match = _PRODUCER.match(producer) if isinstance(producer, str) else None
    if match is None:
        WEBHOOKS_RECEIVED.labels("malformed").inc()
        return _plain(400, "body lacks producer stores/{hash}")
    store_hash = match["hash"]
    payload_hash = delivery_hash(payload, raw)
    target = await get_webhook_target(gateway.pool, store_hash)
    if target is None or target.status == "disconnected" or target.webhook_secret_sha256 is None:
        # A store the connector no longer serves (deleted, uninstalled, disconnected): 200 and
        # nothing done. A 4xx would count towards BigCommerce blocklisting the destination, and
        # with it every other store's deliveries.
        WEBHOOKS_RECEIVED.labels("not_served").inc()
        log.info("webhook_for_store_not_served", store_hash=store_hash)
        return web.Response(status=200)
    presented = request.headers.get(WEBHOOK_HEADER, "")
    if not presented or not hmac.compare_digest(secret_digest(presented), target.webhook_secret_sha256):
        WEBHOOKS_RECEIVED.labels("unauthorized").inc()
        log.warning("webhook_refused", store_hash=store_hash, header_present=bool(presented))
        return _plain(401, "wrong webhook secret")
    async with gateway.pool.acquire() as conn, conn.transaction():
        fresh = await remember_delivery(
            conn, store_hash, payload_hash, gateway.settings.webhook_dedupe_ttl_seconds
        )
        triggered = fresh and target.status == "active" and await request_download(conn, target.id)
    outcome = "triggered" if triggered else ("duplicate" if not fresh else "ignored")
    WEBHOOKS_RECEIVED.labels(outcome).inc()
    log.info(
        "webhook_received", store_hash=store_hash, scope=str(payload.get("scope", ""))[:100], outcome=outcome
    )
    return web.Response(status=200)


def add_webhook_routes(app: web.Application) -> None:
    app.router.add_post("/bigcommerce/webhooks", receive)
