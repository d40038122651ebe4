"""What the merchant and Click & Drop do in the end-to-end test: install, activate, publish despatches."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import aio_pika
from bigcommerce_sandbox import Sandbox
from yarl import URL

from tests.integration.e2e.rig import Rig, wait_until

LINK_TEXT = "Check your settings and activate your new channel on the channel settings page"
DESPATCHED_KEY = "order.despatched.bigcommerce"


def order_listings(sandbox: Sandbox, store_hash: str) -> int:
    """How many download listings (one per poll of a store with a single status) the store has served.

    The listing of modified orders (change detection) is not counted: it is by `min_date_modified`.
    """
    return sum(
        1
        for r in sandbox.requests(store_hash)
        if r.method == "GET" and r.path.endswith("/v2/orders") and "min_date_created" in r.query
    )


def despatch(channel_id: str, store_hash: str, order_id: int, **fields: Any) -> dict[str, Any]:
    """An `OrderDespatched` body exactly as CONTRACT §3 shows it, under a new event_id."""
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "OrderDespatched",
        "schema_version": 1,
        "occurred_at": "2026-11-27T10:15:00Z",
        "channel_id": channel_id,
        "store_hash": store_hash,
        "order_id": order_id,
        "despatched_at": "2026-11-27T10:14:00Z",
        "carrier": "Royal Mail",
        "service_name": "Tracked 48",
        **fields,
    }


async def publish(rig: Rig, body: bytes, message_id: str) -> None:
    """Publish as another Click & Drop service does: confirmed, persistent, JSON."""
    channel = await rig.connection.channel(publisher_confirms=True)
    try:
        exchange = await channel.get_exchange(rig.exchange)
        message = aio_pika.Message(
            body,
            content_type="application/json",
            message_id=message_id,
            type="OrderDespatched",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await exchange.publish(message, routing_key=DESPATCHED_KEY, mandatory=True)
    finally:
        await channel.close()


async def install(rig: Rig, store_hash: str, *, link_text: str = LINK_TEXT) -> dict[str, Any]:
    """The merchant's install in the marketplace; returns the new channel from the internal API."""
    sandbox_url = rig.sandbox.base_url
    async with rig.http.get(f"{sandbox_url}/marketplace", params={"store": store_hash}) as response:
        assert response.status == 200
        assert "/marketplace/install" in await response.text()
    async with rig.http.get(f"{sandbox_url}/marketplace/install", params={"store": store_hash}) as response:
        assert response.status == 200
        assert "Confirm" in await response.text()
    confirm = {"store": store_hash, "user_id": str(rig.sandbox.store(store_hash).owner.id)}
    async with rig.http.post(
        f"{sandbox_url}/marketplace/install", data=confirm, allow_redirects=False
    ) as response:
        assert response.status == 302
        location = response.headers["Location"]
    assert location.startswith(f"{rig.gateway_url}/bigcommerce/auth?")
    async with rig.http.get(location, allow_redirects=False) as response:
        assert response.status == 200, await response.text()
        page = await response.text()
    assert "<title>App installed</title>" in page
    link = re.search(rf'<a href="([^"]+)"[^>]*>{re.escape(link_text)}</a>', page.replace("&#x27;", "'"))
    assert link is not None, page

    status, channels = await rig.api("GET", "/api/v1/channels")
    assert status == 200
    assert isinstance(channels, list)  # a bare array
    (channel,) = [c for c in channels if c["store_hash"] == store_hash]
    assert isinstance(channel, dict)
    url = URL(html.unescape(link.group(1)))
    assert str(url.with_query(None)) == f"{rig.gateway_url}/channels/{channel['id']}/settings"
    # the link's launch token tells Click & Drop which channel and which user it is (CONTRACT §4)
    status, launch = await rig.api("POST", f"/api/v1/launches/{url.query['launch']}")
    assert status == 200, launch
    owner = rig.sandbox.store(store_hash).owner
    assert launch == {
        "channel_id": channel["id"],
        "store_hash": store_hash,
        "user_id": owner.id,
        "user_email": owner.email,
        "is_owner": True,
    }
    return channel


async def activate(rig: Rig, channel_id: str, trading_name: str) -> None:
    """The settings page's "Update and activate", through the internal API: trading name, then activate."""
    status, patched = await rig.api(
        "PATCH", f"/api/v1/channels/{channel_id}", json_body={"trading_name": trading_name}
    )
    assert status == 200, patched
    assert (patched["trading_name"], patched["status"]) == (trading_name, "pending")
    status, activated = await rig.api("POST", f"/api/v1/channels/{channel_id}/activate")
    assert status == 200, activated
    assert activated["status"] == "active"


async def flush_count(rig: Rig) -> float:
    """How many flushes the status writer has completed, from its /metrics."""
    return await rig.metric(rig.services.writer, "status_writer_flush_duration_seconds_count")


async def wait_for_flushes(rig: Rig, at_least: float) -> None:
    """Wait until the writer's flush count reaches `at_least` (two more = one whole flush after now)."""

    async def done() -> bool:
        return await flush_count(rig) >= at_least

    await wait_until(done, f"{at_least:g} flushes")
