"""Channel events reach RabbitMQ through the outbox; the access token never shows in logs or the database."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from aio_pika.abc import AbstractRobustConnection
from common.amqp import Topology
from common.logging import configure_logging

from tests.support.amqp import bind_probe, get_messages
from tests.support.auth_gateway import GatewayRig


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


@pytest.fixture
def captured_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    configure_logging("DEBUG", "json")  # writes to the captured stderr from now on
    try:
        yield capsys
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


TEXT_COLUMNS = """
SELECT table_name, column_name FROM information_schema.columns
 WHERE table_schema = 'public' AND data_type IN ('text', 'bytea', 'character varying', 'jsonb', 'ARRAY')
"""


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

    logged = captured_logs.readouterr()
    output = logged.out + logged.err
    assert "app_installed" in output  # the capture works
    for secret in [*tokens_seen, webhook_secret, rig.settings.bigcommerce_client_secret.get_secret_value()]:
        assert secret not in output

    for column in await rig.pool.fetch(TEXT_COLUMNS):
        values = await rig.pool.fetch(
            f'SELECT "{column["column_name"]}"::text AS v FROM "{column["table_name"]}"'
        )
        for value in values:
            text = value["v"] or ""
            for secret in [*tokens_seen, webhook_secret]:
                assert secret not in text, (column["table_name"], column["column_name"])
                assert secret.encode().hex() not in text
    assert channel_id == row["id"]
