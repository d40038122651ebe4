"""End-to-end fixtures: the sandbox in-process and the three real service commands against it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aio_pika
import aiohttp
import pytest
from aio_pika.abc import AbstractRobustConnection
from bigcommerce_sandbox import AppConfig, run_sandbox
from common.amqp import Topology
from common.crypto import generate_key

from tests.integration.e2e.rig import (
    API_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    CONTRACT_VARIABLES,
    EventTap,
    Rig,
    Service,
    Services,
    delete_contract_queues,
    services_env,
)
from tests.support.waiting import free_port

FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.failed:  # type: ignore[attr-defined]
        item.stash[FAILED] = True
    return report


@pytest.fixture
async def contract_queues(amqp_connection: AbstractRobustConnection) -> AsyncIterator[None]:
    """The writer's queue name is fixed by the contract: start without it and remove it (and its DLQ) after."""
    await delete_contract_queues(amqp_connection, leftovers_only=True)
    try:
        yield
    finally:
        await delete_contract_queues(amqp_connection, leftovers_only=False)


@pytest.fixture
async def rig(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    database_url: str,
    amqp_url: str,
    topology: Topology,
    amqp_connection: AbstractRobustConnection,
    contract_queues: None,
) -> AsyncIterator[Rig]:
    gateway_port = free_port()
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    app = AppConfig.for_base_url(gateway_url, CLIENT_ID, CLIENT_SECRET)
    # the gateway registers plain-http hooks on a free port, which real BigCommerce would refuse
    async with run_sandbox(app=app, allow_insecure_destinations=True) as sandbox:
        key = generate_key()
        env = {
            **services_env(
                database_url=database_url,
                amqp_url=amqp_url,
                exchange=topology.exchange,
                sandbox=sandbox,
                gateway_url=gateway_url,
                key=key,
            ),
            "FLUSH_INTERVAL_SECONDS": "2",
        }
        assert not set(env) - CONTRACT_VARIABLES, "only CONTRACT §2 variables"
        # the demo's stand-in settings pages, on as `make run` turns them on (the browser walk uses them)
        env["SETTINGS_PAGES_ENABLED"] = "true"
        env["BIGCOMMERCE_CONTROL_PANEL_URL"] = sandbox.marketplace_url
        services = Services(
            gateway=Service("auth-gateway", gateway_port, tmp_path / "auth-gateway.log"),
            poller=Service("order-poller", free_port(), tmp_path / "order-poller.log"),
            writer=Service("status-writer", free_port(), tmp_path / "status-writer.log"),
            env=env,
        )
        channel = await amqp_connection.channel()
        exchange = await channel.declare_exchange(
            topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        probe = await channel.declare_queue(exclusive=True, auto_delete=True)
        await probe.bind(exchange, "bigcommerce.#")
        try:
            async with aiohttp.ClientSession() as http:
                try:
                    await services.start()
                except BaseException:
                    services.dump_logs()  # the test never runs: its report cannot trigger the dump
                    raise
                yield Rig(
                    sandbox=sandbox,
                    services=services,
                    tap=EventTap(probe),
                    connection=amqp_connection,
                    exchange=topology.exchange,
                    http=http,
                    secrets=(CLIENT_SECRET, API_TOKEN, key),
                )
        finally:
            await services.kill_leftovers()
            if request.node.stash.get(FAILED, False):
                services.dump_logs()
            with contextlib.suppress(Exception):
                await channel.close()
