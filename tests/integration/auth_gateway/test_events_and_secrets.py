"""Channel events reach RabbitMQ through the outbox; the access token never shows in logs or the database."""

from __future__ import annotations

import json

import pytest
from aio_pika.abc import AbstractRobustConnection
from auth_gateway.webhook_registration import WEBHOOK_HEADER
from common.amqp import Topology

from tests.support.amqp import bind_probe, get_messages
from tests.support.auth_gateway import API_TOKEN, GatewayRig
from tests.support.secrets import assert_nowhere_in_database, captured_logs, log_output

__all__ = ["captured_logs"]  # the fixture, used by name


async def test_lifecycle_events_are_published_with_contract_routing_keys(
    rig: GatewayRig, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    probe = await bind_probe(amqp_connection, topology.exchange, "bigcommerce.channel.*")
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    await rig.sandbox.uninstall_and_notify(store.hash)

    messages = await get_messages(probe, 3)
    keys = [m.routing_key for m in messages]
    assert keys == [
        "bigcommerce.channel.connected",
        "bigcommerce.channel.activated",
        "bigcommerce.channel.disconnected",
    ]
    bodies = [json.loads(m.body) for m in messages]
    assert [(b["event_type"], b["status"]) for b in bodies] == [
        ("ChannelConnected", "pending"),
        ("ChannelActivated", "active"),
        ("ChannelDisconnected", "disconnected"),
    ]
    for message, body in zip(messages, bodies, strict=True):
        assert body["channel_id"] == str(channel_id)
        assert body["store_hash"] == store.hash
        assert message.message_id == body["event_id"]
        assert message.type == body["event_type"]
        assert message.content_type == "application/json"
        assert body["occurred_at"].endswith("Z")
        assert body["schema_version"] == 1


async def test_access_token_is_absent_from_logs_and_database(
    rig: GatewayRig, captured_logs: pytest.CaptureFixture[str]
) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    rig.sandbox.hooks.clear()
    assert (await rig.callback("load", rig.sandbox.signed_payload(store.hash))).status == 302
    assert (await rig.install(store.hash)).status == 200
    row = await rig.channel_row(store.hash)
    assert row is not None
    rig.gateway.cipher.decrypt(row["access_token_encrypted"])
    webhook_secret = rig.sandbox.hooks_for(store.hash)[0].headers["X-Clickdrop-Webhook-Token"]
    tokens_seen = [t for t in rig.sandbox.tokens if rig.sandbox.tokens[t].store_hash == store.hash]
    assert len(tokens_seen) == 2  # install and reinstall

    output = log_output(captured_logs)
    assert "app_installed" in output  # the capture works
    for secret in [*tokens_seen, webhook_secret, rig.settings.bigcommerce_client_secret.get_secret_value()]:
        assert secret not in output

    await assert_nowhere_in_database(rig.pool, *tokens_seen, webhook_secret)
    assert channel_id == row["id"]


FAIL_ON = """
CREATE FUNCTION injected_failure() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'injected failure'; END $$;
CREATE TRIGGER injected_failure BEFORE {event} ON {table} FOR EACH ROW EXECUTE FUNCTION injected_failure();
"""


async def test_failing_requests_log_no_bearer_token_webhook_secret_or_access_token(
    rig: GatewayRig, captured_logs: pytest.CaptureFixture[str]
) -> None:
    store = rig.create_store()
    channel_id = await rig.active_channel(store.hash)
    row = await rig.channel_row(store.hash)
    assert row is not None
    access_token = rig.gateway.cipher.decrypt(row["access_token_encrypted"])
    webhook_secret = rig.gateway.cipher.decrypt(row["webhook_secret_encrypted"])
    _, launch_token = await rig.launch(store.hash)
    # the test's own database refuses every write to channels, the delivery memory and launches
    await rig.pool.execute(FAIL_ON.format(event="UPDATE", table="channels"))
    await rig.pool.execute(
        "CREATE TRIGGER injected_failure BEFORE INSERT ON webhook_deliveries_seen"
        " FOR EACH ROW EXECUTE FUNCTION injected_failure()"
    )
    await rig.pool.execute(
        "CREATE TRIGGER injected_failure BEFORE DELETE ON launch_tokens"
        " FOR EACH ROW EXECUTE FUNCTION injected_failure()"
    )

    # the bearer token sits in the API middleware's locals when the handler fails
    status, body, _ = await rig.api("PATCH", f"/api/v1/channels/{channel_id}", json={"trading_name": "New"})
    assert (status, body["detail"]) == (500, "the request failed; it may be retried")
    # a launch token travels in the path of its redemption
    assert (await rig.api("POST", f"/api/v1/launches/{launch_token}"))[0] == 500
    # the webhook secret sits in the receiver's locals when remembering the delivery fails
    delivery = {"scope": "store/order/statusUpdated", "producer": f"stores/{store.hash}", "hash": "e5f6"}
    async with rig.http.post(
        f"{rig.base_url}/bigcommerce/webhooks", json=delivery, headers={WEBHOOK_HEADER: webhook_secret}
    ) as response:
        assert response.status == 500
    # the access token (and the webhook secret) sit in the hook registration's locals when
    # flagging the refused token fails
    rig.sandbox.revoke_tokens(store.hash)
    assert (await rig.callback("load", rig.sandbox.signed_payload(store.hash))).status == 500

    output = log_output(captured_logs)
    assert output.count("injected failure") >= 4  # four failures, each with its traceback
    assert "Traceback" in output or '"frames"' in output
    assert "Logging error" not in output, output
    for secret in (API_TOKEN, webhook_secret, access_token, launch_token):
        assert secret not in output
