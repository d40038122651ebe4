"""Fixtures of the gateway's integration tests: a running gateway against the sandbox or the docs fake."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from aio_pika.abc import AbstractRobustConnection
from common.amqp import Topology

from tests.support.auth_gateway import DocsRig, GatewayRig, run_docs_rig, run_gateway_rig


@pytest.fixture
async def rig(
    database_url: str,
    amqp_url: str,
    topology: Topology,
    amqp_connection: AbstractRobustConnection,
    pool: asyncpg.Pool,
) -> AsyncIterator[GatewayRig]:
    async with run_gateway_rig(
        database_url=database_url, amqp_url=amqp_url, exchange=topology.exchange, pool=pool
    ) as started:
        yield started


@pytest.fixture
async def docs(
    database_url: str,
    amqp_url: str,
    topology: Topology,
    amqp_connection: AbstractRobustConnection,
    pool: asyncpg.Pool,
) -> AsyncIterator[DocsRig]:
    async with run_docs_rig(
        database_url=database_url, amqp_url=amqp_url, exchange=topology.exchange, pool=pool
    ) as started:
        yield started
