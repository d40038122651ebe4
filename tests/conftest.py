"""Fixtures shared by the whole suite: real PostgreSQL (a migrated template, one database per test) and RabbitMQ."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from aio_pika.abc import AbstractRobustConnection
from common.amqp import QueueSpec, Topology, open_connection
from common.db.migrate import migrate
from common.db.pool import open_pool

from tests.support.amqp import delete_topology
from tests.support.servers import Servers, find_servers, with_database

INTEGRATION_DIR = Path(__file__).parent / "integration"
# `browser` and `page` fixtures; screenshots and HTML of failed browser tests under test-results/
pytest_plugins = ["tests.support.browser.plugin"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if INTEGRATION_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    with find_servers() as found:
        yield found


async def _admin(servers: Servers) -> asyncpg.Connection:
    return await asyncpg.connect(servers.postgres_url)


@pytest.fixture(scope="session")
def template_database(servers: Servers) -> Iterator[str]:
    """A database migrated once per run; each test clones it."""
    import asyncio

    name = f"bcc_tpl_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        await migrate(with_database(servers.postgres_url, name))

    async def drop() -> None:
        admin = await _admin(servers)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    asyncio.run(create())
    try:
        yield name
    finally:
        asyncio.run(drop())


@pytest.fixture
async def database_url(servers: Servers, template_database: str) -> AsyncIterator[str]:
    """A fresh, migrated database for one test, dropped afterwards."""
    name = f"bcc_test_{uuid.uuid4().hex[:12]}"
    admin = await _admin(servers)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    finally:
        await admin.close()
    try:
        yield with_database(servers.postgres_url, name)
    finally:
        admin = await _admin(servers)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with open_pool(database_url) as opened:
        yield opened


@pytest.fixture
def amqp_url(servers: Servers) -> str:
    return servers.amqp_url


@pytest.fixture
def topology(request: pytest.FixtureRequest) -> Topology:
    """Per-test exchange and queue names, so tests never see each other's messages."""
    prefix = f"test.{uuid.uuid4().hex[:10]}"
    return Topology(
        exchange=f"{prefix}.events",
        queues=(
            QueueSpec(name=f"{prefix}.order-despatched", routing_keys=("order.despatched.bigcommerce",)),
        ),
    )


@pytest.fixture
async def amqp_connection(
    amqp_url: str, topology: Topology, request: pytest.FixtureRequest
) -> AsyncIterator[AbstractRobustConnection]:
    async with open_connection(amqp_url, name=f"test:{request.node.name}") as connection:
        try:
            yield connection
        finally:
            await delete_topology(connection, topology)
