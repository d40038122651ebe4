"""The broker drops every connection, BigCommerce answers garbage, a background task dies."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from bigcommerce_sandbox.faults import Fault

from tests.integration.e2e.rig import wait_until
from tests.integration.faults.rig import FaultRig
from tests.support.outages import close_broker_connections

# whole services through an outage and back: more than the suite's default two minutes under load
pytestmark = pytest.mark.timeout(300)

SERVICE_CONNECTIONS = r"^(auth-gateway|order-poller|status-writer)@"


async def test_every_broker_connection_closed_mid_publish_and_mid_consume_loses_nothing(
    fault_rig: FaultRig,
) -> None:
    rig = fault_rig
    await rig.start_services()
    shop = await rig.shop(orders=3)
    await rig.downloaded_once(shop)

    # mid-publish (new orders are being relayed) and mid-consume (despatches are arriving)
    rig.add_orders(shop, 6)
    await rig.publish_despatches(shop, shop.orders[:3])
    closed = await close_broker_connections(rig.amqp_url, SERVICE_CONNECTIONS)
    assert len(closed) == 3

    async def ready_after(what: str) -> None:
        await rig.wait_ready()
        assert all(rig.services[name].process.returncode is None for name in rig.services)  # type: ignore[union-attr]

    await ready_after("first close")
    # as a broker restart looks to the clients: every connection closed again, while work flows
    await rig.downloaded_once(shop)
    await rig.publish_despatches(shop, shop.orders[3:])
    assert len(await close_broker_connections(rig.amqp_url, SERVICE_CONNECTIONS)) == 3
    await ready_after("second close")

    await rig.all_done(shop)


async def test_malformed_http_and_server_errors_from_bigcommerce_lose_and_double_nothing(
    fault_rig: FaultRig,
) -> None:
    rig = fault_rig
    await rig.start_services()
    shop = await rig.shop(orders=6)
    faults = rig.sandbox.faults(shop.hash)
    garbage = faults.add(Fault("malformed_http", probability=0.2))
    errors = faults.add(Fault("status", status=503, probability=0.1))
    resets = faults.add(Fault("reset", probability=0.05))

    await rig.downloaded_once(shop)
    await rig.publish_despatches(shop, shop.orders)
    await rig.all_done(shop)

    assert garbage.fired
    assert errors.fired
    assert resets.fired


async def test_a_background_task_that_dies_takes_its_process_down_and_a_restart_resumes(
    fault_rig: FaultRig,
) -> None:
    rig = fault_rig
    await rig.start_services()
    # the relay's bookkeeping breaks for good (in this test's own database): a bug, not an outage
    conn = await asyncpg.connect(rig.database_url)
    try:
        await conn.execute(
            """
            CREATE FUNCTION refuse_publication() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN RAISE EXCEPTION 'outbox bookkeeping broken'; END $$;
            CREATE TRIGGER refuse_publication BEFORE UPDATE OF published_at ON outbox
                FOR EACH ROW EXECUTE FUNCTION refuse_publication();
            """
        )
        shop = await rig.shop(orders=3)
        # both outbox relays (the poller's and the gateway's) meet it, and each process goes down
        for name, service in (("poller", "order-poller"), ("gateway", "auth-gateway")):
            process = rig.services[name].process
            assert process is not None

            async def exited(process: asyncio.subprocess.Process = process) -> bool:
                return process.returncode is not None

            await wait_until(exited, f"{service} to exit", timeout_s=30)
            assert process.returncode == 1
            (died,) = rig.logged(name, "background_task_died")
            assert (died["task"], died["error"], died["level"]) == ("outbox-relay", "RaiseError", "critical")
            (stopped,) = rig.logged(name, "service_stopped")
            assert stopped["reason"] == "background task outbox-relay died"
            assert rig.logged(name, "service_crashed") == []  # one clear line, not a traceback per exit

        await conn.execute("DROP TRIGGER refuse_publication ON outbox")
    finally:
        await conn.close()
    # what the orchestrator does
    await rig.restart("gateway")
    await rig.restart("poller")

    await rig.downloaded_once(shop)
    await rig.publish_despatches(shop, shop.orders)
    await rig.all_done(shop)
