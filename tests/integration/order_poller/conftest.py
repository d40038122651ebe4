"""Fixtures of the order poller's integration tests: the sandbox rig and an outbox relay to a probe queue."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from aio_pika.abc import AbstractQueue, AbstractRobustConnection
from common.amqp import Topology
from common.outbox import OutboxRelay

from tests.support.order_poller import Rig, poller_rig, relay_to_probe


@pytest.fixture
async def rig(pool: asyncpg.Pool) -> AsyncIterator[Rig]:
    async with poller_rig(pool) as opened:
        yield opened


@pytest.fixture
async def relay(
    pool: asyncpg.Pool, amqp_connection: AbstractRobustConnection, topology: Topology
) -> AsyncIterator[tuple[OutboxRelay, AbstractQueue]]:
    async with relay_to_probe(pool, amqp_connection, topology) as pair:
        yield pair
