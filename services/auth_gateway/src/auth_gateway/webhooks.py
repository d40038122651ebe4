"""`POST /bigcommerce/webhooks`: authenticate a delivery by its store's secret, drop duplicates, request its order."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

import structlog
from aiohttp import web
from prometheus_client import Counter

from auth_gateway.context import GATEWAY_KEY, secret_digest
from auth_gateway.db.channel_writes import get_webhook_target
from auth_gateway.db.order_changes import moves_downloaded_order
from auth_gateway.db.order_requests import request_order_download
from auth_gateway.db.webhook_deliveries import remember_delivery
from auth_gateway.webhook_registration import WEBHOOK_HEADER

log = structlog.get_logger(__name__)

WEBHOOKS_RECEIVED = Counter("gateway_webhooks_received_total", "Webhook deliveries by outcome", ["outcome"])
_PRODUCER = re.compile(r"^stores/(?P<hash>[A-Za-z0-9]{1,64})$")
_HASH = re.compile(r"^[\x21-\x7e]{1,128}$")
STATUS_UPDATED = "store/order/statusUpdated"
_MAX_ORDER_ID = 2**63 - 1  # bigint
_MAX_STATUS_ID = 2**31 - 1  # integer


def _whole(value: object, maximum: int) -> int | None:
    # an int, or its digits as a string (store_id shows BigCommerce's payloads are not strict)
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    return value if isinstance(value, int) and 0 <= value <= maximum else None


def status_change(payload: dict[str, object]) -> tuple[int, int] | None:
    """(order id, new status id) of a `store/order/statusUpdated` delivery (reference §8.3).

    None for every other delivery, and for one whose `data` is not the documented
    `{"type": "order", "id": …, "status": {"new_status_id": …}}`: such a delivery starts nothing,
    and the scheduled poll still finds whatever it was about.
    """
    data = payload.get("data")
    if payload.get("scope") != STATUS_UPDATED or not isinstance(data, dict):
        return None
    status = data.get("status")
    order_id = _whole(data.get("id"), _MAX_ORDER_ID)
    new_status = _whole(status.get("new_status_id"), _MAX_STATUS_ID) if isinstance(status, dict) else None
    if data.get("type", "order") != "order" or not order_id or new_status is None:
        return None
    return order_id, new_status


def delivery_hash(payload: dict[str, object], raw: bytes) -> str:
    """BigCommerce's `hash` (SHA-1 of the payload) to deduplicate on; computed when it is absent."""
    given = payload.get("hash")
    if isinstance(given, str) and _HASH.match(given):
        return given
    return hashlib.sha1(raw, usedforsecurity=False).hexdigest()


def _plain(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/plain")


async def receive(request: web.Request) -> web.Response:
    """Answer 200 at once for a genuine delivery; the download itself runs in the poller.

    Only a status change to a status the channel downloads, or of an order the channel downloaded
    that the connector's own write-back did not make (OrderChanged), starts work: a request for that
    one order, written with the delivery's dedupe row in one transaction, and a NOTIFY that wakes the
    poller. Any other delivery (other statuses, the connector's own write-back moves to Shipped,
    other scopes, unreadable `data`) starts nothing; the scheduled poll is the safety net.
    """
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
        change = status_change(payload)
        requested = (
            fresh
            and target.status == "active"
            and change is not None
            and await request_order_download(
                conn,
                target.id,
                *change,
                downloaded_order_moved=await moves_downloaded_order(conn, target.id, store_hash, *change),
            )
        )
    outcome = "requested" if requested else ("duplicate" if not fresh else "ignored")
    WEBHOOKS_RECEIVED.labels(outcome).inc()
    log.info(
        "webhook_received", store_hash=store_hash, scope=str(payload.get("scope", ""))[:100], outcome=outcome
    )
    return web.Response(status=200)


def add_webhook_routes(app: web.Application) -> None:
    app.router.add_post("/bigcommerce/webhooks", receive)
