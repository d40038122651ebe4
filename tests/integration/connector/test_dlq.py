"""`connector dlq list` and `redrive` against the real broker, on dead letters made by the real consumer and broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aio_pika
import pytest
from aio_pika.abc import AbstractConnection, AbstractRobustConnection
from common.amqp import QueueSpec, Topology, declare_topology
from common.consumer import BatchConsumer, Delivery, DeliveryOutcome, Rejected
from connector.dlq import REDRIVE_COUNT_HEADER, DeadLetterError, list_dead_letters, redrive, selection

from tests.support.amqp import delete_topology, get_messages
from tests.support.waiting import eventually

CONNECTOR = Path(sys.executable).parent / "connector"
CUSTOMER = "Ada Lovelace, 12 Analytical Row"  # personal data no listing may show


@pytest.fixture
async def spec(amqp_connection: AbstractRobustConnection) -> AsyncIterator[QueueSpec]:
    prefix = f"test.{uuid.uuid4().hex[:10]}"
    # a low delivery limit so the broker itself dead-letters the poison message quickly
    queue = QueueSpec(
        name=f"{prefix}.order-despatched", routing_keys=("order.despatched.bigcommerce",), delivery_limit=2
    )
    topology = Topology(exchange=f"{prefix}.events", queues=(queue,))
    channel = await amqp_connection.channel()
    await declare_topology(channel, topology)
    await channel.close()
    try:
        yield queue
    finally:
        await delete_topology(amqp_connection, topology)


def despatch(kind: str) -> tuple[bytes, str]:
    event_id = str(uuid.uuid4())
    body = {
        "event_id": event_id,
        "event_type": "OrderDespatched",
        "channel_id": str(uuid.uuid4()),
        "store_hash": "abc123",
        "order_id": 101,
        "customer": CUSTOMER,
        "kind": kind,
    }
    return json.dumps(body).encode(), event_id


async def rejecting_handler(deliveries: Sequence[Delivery]) -> Sequence[DeliveryOutcome]:
    outcomes: list[DeliveryOutcome] = []
    for delivery in deliveries:
        if delivery.body.startswith(b"{not"):
            outcomes.append(Rejected("not JSON"))
        elif b'"poison"' in delivery.body:
            raise RuntimeError("handler crashes on this one")  # requeued until the broker's limit
        else:
            outcomes.append(Rejected(f"unknown channel {json.loads(delivery.body)['channel_id']}"))
    return outcomes


async def queue_depth(connection: AbstractConnection, name: str) -> int:
    channel = await connection.channel()
    try:
        queue = await channel.declare_queue(name, passive=True)
        return queue.declaration_result.message_count or 0
    finally:
        await channel.close()


@pytest.fixture
async def dead_letters(amqp_connection: AbstractRobustConnection, spec: QueueSpec) -> list[str]:
    """Three dead letters, in this order: not JSON, unknown channel (by the consumer), poison (by the broker)."""
    (unknown, unknown_id), (poison, poison_id) = despatch("unknown"), despatch("poison")
    topology = Topology(exchange=spec.name.rsplit(".", 1)[0] + ".events", queues=(spec,))
    channel = await amqp_connection.channel()
    for body, message_id in ((b"{not json", "m-not-json"), (unknown, unknown_id)):
        await channel.default_exchange.publish(
            aio_pika.Message(body, message_id=message_id, type="OrderDespatched"), routing_key=spec.name
        )
    async with BatchConsumer(amqp_connection, topology, spec, rejecting_handler, max_batch=1):
        assert await eventually(lambda: _depth_is(amqp_connection, spec.dlq_name, 2))
        await channel.default_exchange.publish(
            aio_pika.Message(poison, message_id=poison_id, type="OrderDespatched"), routing_key=spec.name
        )
        assert await eventually(lambda: _depth_is(amqp_connection, spec.dlq_name, 3), timeout_s=20)
    await channel.close()
    return ["m-not-json", unknown_id, poison_id]


async def _depth_is(connection: AbstractConnection, name: str, expected: int) -> bool:
    return await queue_depth(connection, name) == expected


def run_cli(amqp_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "AMQP_URL": amqp_url}
    return subprocess.run(
        [str(CONNECTOR), "dlq", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


async def test_list_shows_reason_age_type_and_ids_and_leaves_every_letter_in_place(
    amqp_url: str, amqp_connection: AbstractRobustConnection, spec: QueueSpec, dead_letters: list[str]
) -> None:
    result = run_cli(amqp_url, "list", "--queue", spec.name)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["AGE", "REASON", "TYPE", "EVENT_ID", "CHANNEL_ID", "STORE", "ORDER", "DEATHS"]
    assert len(lines) == 4
    assert "not JSON" in lines[1]
    assert "unknown channel" in lines[2]
    assert dead_letters[1] in lines[2]
    assert "abc123" in lines[2]
    assert "101" in lines[2]
    assert "broker: delivery_limit" in lines[3]
    assert "Lovelace" not in result.stdout + result.stderr
    assert all(line.split()[0] != "?" for line in lines[1:]), "every dead letter has an age"

    as_json = [
        json.loads(line)
        for line in run_cli(amqp_url, "list", "--queue", spec.name, "--json").stdout.splitlines()
    ]
    assert [row["event_id"] for row in as_json] == dead_letters  # same order: nothing moved
    assert all(row["event_type"] == "OrderDespatched" for row in as_json)
    assert all(0 <= row["age_seconds"] < 600 for row in as_json)
    assert as_json[2]["deaths"] >= 1
    assert await queue_depth(amqp_connection, spec.dlq_name) == 3


async def test_redrive_moves_only_the_matching_letters_with_confirms(
    amqp_url: str, amqp_connection: AbstractRobustConnection, spec: QueueSpec, dead_letters: list[str]
) -> None:
    result = run_cli(amqp_url, "redrive", "--queue", spec.name, "--reason", "UNKNOWN CHANNEL")
    assert result.returncode == 0, result.stderr
    assert "moved 1 dead letter(s)" in result.stdout
    channel = await amqp_connection.channel()
    (moved,) = await get_messages(await channel.get_queue(spec.name), 1)
    assert moved.message_id == dead_letters[1]
    assert moved.type == "OrderDespatched"
    assert json.loads(moved.body)["customer"] == CUSTOMER  # the body travels unchanged
    headers = moved.headers or {}
    assert "x-rejection-reason" not in headers
    assert "x-death" not in headers
    assert headers[REDRIVE_COUNT_HEADER] == 1
    await channel.close()
    remaining = await list_dead_letters(amqp_connection, spec.dlq_name)
    assert [letter.message_id for letter in remaining] == [dead_letters[0], dead_letters[2]]


async def test_redrive_older_than_compares_the_dead_letter_age(
    amqp_connection: AbstractRobustConnection, spec: QueueSpec, dead_letters: list[str]
) -> None:
    now = datetime.now(UTC)
    young = selection(reason=None, older_than=timedelta(hours=1), now=now)
    result = await redrive(amqp_connection, spec.dlq_name, spec.name, matches=young)
    assert (result.moved, result.kept) == (0, 3)
    # an hour and a half later (the clock is an argument: nothing waits)
    later = selection(reason="not json", older_than=timedelta(hours=1), now=now + timedelta(minutes=90))
    result = await redrive(amqp_connection, spec.dlq_name, spec.name, matches=later)
    assert (result.moved, result.kept, result.error) == (1, 2, None)
    assert await queue_depth(amqp_connection, spec.name) == 1


async def test_a_letter_dead_lettered_again_during_the_run_is_moved_once(
    amqp_connection: AbstractRobustConnection, spec: QueueSpec, dead_letters: list[str]
) -> None:
    # a queue that hands every message straight back to the DLQ: without the bound this would loop
    loop = f"{spec.name}.loop"
    channel = await amqp_connection.channel()
    await channel.declare_queue(
        loop,
        auto_delete=False,
        arguments={
            "x-message-ttl": 0,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": spec.dlq_name,
        },
    )
    try:
        result = await redrive(amqp_connection, spec.dlq_name, loop, matches=lambda _: True)
        assert (result.moved, result.kept, result.error) == (3, 0, None)
        assert await eventually(lambda: _depth_is(amqp_connection, spec.dlq_name, 3))
        letters = await list_dead_letters(amqp_connection, spec.dlq_name)
        assert sorted(letter.message_id or "" for letter in letters) == sorted(dead_letters)
    finally:
        await channel.queue_delete(loop)
        await channel.close()


async def test_a_publish_the_broker_refuses_leaves_that_letter_and_the_rest(
    amqp_connection: AbstractRobustConnection, spec: QueueSpec, dead_letters: list[str]
) -> None:
    full = f"{spec.name}.full"
    channel = await amqp_connection.channel()
    # holds one message and nacks every later publish
    await channel.declare_queue(full, arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    try:
        result = await redrive(amqp_connection, spec.dlq_name, full, matches=lambda _: True)
        assert result.moved == 1
        assert result.kept == 2
        assert result.error is not None
        remaining = await list_dead_letters(amqp_connection, spec.dlq_name)
        assert [letter.message_id for letter in remaining] == dead_letters[1:]
    finally:
        await channel.queue_delete(full)
        await channel.close()


async def test_missing_queues_are_named_and_nothing_moves(
    amqp_url: str, amqp_connection: AbstractRobustConnection, spec: QueueSpec, dead_letters: list[str]
) -> None:
    with pytest.raises(DeadLetterError, match="does not exist"):
        await redrive(amqp_connection, spec.dlq_name, f"{spec.name}.missing", matches=lambda _: True)
    result = run_cli(amqp_url, "list", "--queue", f"{spec.name}.missing")
    assert result.returncode == 1
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr
    assert await queue_depth(amqp_connection, spec.dlq_name) == 3
    unreachable = run_cli("amqp://guest:guest@127.0.0.1:1/", "list")
    assert unreachable.returncode == 1
    assert "broker unreachable" in unreachable.stderr


async def test_hostile_headers_and_bodies_are_listed_safely(
    amqp_connection: AbstractRobustConnection, spec: QueueSpec
) -> None:
    channel = await amqp_connection.channel(publisher_confirms=True)
    headers = {
        "x-rejection-reason": "\x1b[2J" + "evil\nline" + "x" * 5000,
        "x-death": [{"count": "many", "time": "yesterday", "reason": "\x00"}],
    }
    for body in (b'["a", "list"]', b'{"order_id": {"nested": true}, "store_hash": "' + b"s" * 500 + b'"}'):
        await channel.default_exchange.publish(
            aio_pika.Message(body, headers=headers, message_id="\x07bell"), routing_key=spec.dlq_name
        )
    await channel.close()
    letters = await list_dead_letters(amqp_connection, spec.dlq_name)
    assert len(letters) == 2
    for letter in letters:
        assert letter.reason.startswith("?[2Jevil?line")
        assert len(letter.reason) <= 200
        assert letter.redeliveries == 0
        assert letter.dead_lettered_at is None
        assert letter.message_id == "?bell"
        assert "order_id" not in letter.ids
    assert letters[1].ids["store_hash"].endswith("…")
