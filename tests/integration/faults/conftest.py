"""Fault-suite fixtures: the sandbox in-process, the real service commands against it, a tap on the broker."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aio_pika
import aiohttp
import pytest
from aio_pika.abc import AbstractRobustConnection
from bigcommerce_sandbox import AppConfig, run_sandbox
from common.amqp import Topology
from common.crypto import TokenCipher, generate_key

from tests.integration.e2e.rig import (
    CLIENT_ID,
    CLIENT_SECRET,
    EventTap,
    delete_contract_queues,
    services_env,
)
from tests.integration.faults.rig import FaultRig
from tests.support.waiting import free_port

FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.failed:  # type: ignore[attr-defined]
        item.stash[FAILED] = True
    return report


@pytest.fixture
async def fault_rig(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    database_url: str,
    amqp_url: str,
    topology: Topology,
    amqp_connection: AbstractRobustConnection,
) -> AsyncIterator[FaultRig]:
    # the writer's queue name is fixed by the contract: start without it, remove it after
    await delete_contract_queues(amqp_connection, leftovers_only=True)
    gateway_port = free_port()
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    app = AppConfig.for_base_url(gateway_url, CLIENT_ID, CLIENT_SECRET)
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
            "FLUSH_INTERVAL_SECONDS": "1",
            # an outage is waited out in short steps, so the suite does not wait long after it
            "SERVER_RETRY_INITIAL_SECONDS": "0.05",
            "SERVER_RETRY_MAX_SECONDS": "0.5",
            # a despatch BigCommerce kept refusing is retried within seconds, not the production minute
            "RETRY_BACKOFF_SECONDS": "0.5",
            "RETRY_BACKOFF_MAX_SECONDS": "2",
        }
        channel = await amqp_connection.channel()
        exchange = await channel.declare_exchange(
            topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        probe = await channel.declare_queue(exclusive=True, auto_delete=True)
        await probe.bind(exchange, "bigcommerce.#")
        ports = itertools.chain([gateway_port], iter(free_port, None))
        async with aiohttp.ClientSession() as http:
            rig = FaultRig(
                sandbox=sandbox,
                database_url=database_url,
                amqp_url=amqp_url,
                connection=amqp_connection,
                exchange=topology.exchange,
                tap=EventTap(probe),
                http=http,
                cipher=TokenCipher([key]),
                env=env,
                log_dir=tmp_path,
                ports=ports,
            )
            try:
                yield rig
            finally:
                await rig.stop_all()
                if request.node.stash.get(FAILED, False):
                    rig.dump_logs()
                with contextlib.suppress(Exception):
                    await channel.close()
                await delete_contract_queues(amqp_connection, leftovers_only=False)
