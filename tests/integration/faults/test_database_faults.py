"""The database fails under the running services: refusing connections for a while, or cutting them all."""

from __future__ import annotations

import pytest

from tests.integration.e2e.rig import wait_until
from tests.integration.faults.rig import FaultRig
from tests.support.outages import database_outage, terminate_backends

# whole services through an outage and back: more than the suite's default two minutes under load
pytestmark = pytest.mark.timeout(300)

SERVICES = ("gateway", "poller", "writer")


async def test_a_database_refusing_connections_is_ridden_out_during_poll_relay_ingest_and_flush(
    fault_rig: FaultRig,
) -> None:
    rig = fault_rig
    await rig.start_services()
    shop = await rig.shop(orders=4)
    await rig.downloaded_once(shop)  # poller and relay were working before the outage
    waits_before = await rig.metric("writer", "amqp_consumer_server_waits_total")

    downloaded = list(shop.orders)
    async with database_outage(rig.database_url):
        rig.add_orders(shop, 3)  # to download once the database is back
        await rig.publish_despatches(shop, downloaded)  # arrive while the writer cannot store them
        await rig.wait_dependency_down("database", *SERVICES)

        async def writer_waited_past_the_delivery_limit() -> bool:
            waits = await rig.metric("writer", "amqp_consumer_server_waits_total")
            return waits - waits_before > 12  # the quorum queue would have dead-lettered after 10 requeues

        await wait_until(writer_waited_past_the_delivery_limit, "the writer to keep waiting for the database")

        def every_loop_waited() -> bool:
            return all(
                (
                    rig.logged("poller", "poll_schedule_waiting_for_server"),
                    rig.logged("poller", "outbox_relay_waiting_for_server"),
                    rig.logged("writer", "consumer_waiting_for_server"),
                    rig.logged("writer", "flush_waiting_for_server")
                    or rig.logged("writer", "store_flush_interrupted_by_server"),
                )
            )

        await wait_until(every_loop_waited, "poll, relay, ingest and flush to meet the outage")
        assert all(rig.services[name].process.returncode is None for name in SERVICES)  # type: ignore[union-attr]

    await rig.downloaded_once(shop)
    await rig.publish_despatches(shop, shop.orders[len(downloaded) :])
    await rig.all_done(shop)
    assert rig.logged("writer", "message_dead_lettered") == []
    assert rig.logged("poller", "background_task_died") == []


async def test_every_database_connection_cut_mid_run_loses_and_doubles_nothing(fault_rig: FaultRig) -> None:
    rig = fault_rig
    await rig.start_services()
    shop = await rig.shop(orders=4)
    for _ in range(3):
        # each round: new orders to download, and despatches of the downloaded ones arriving, when
        # every connection is cut
        await rig.downloaded_once(shop)
        despatched = [o for o in shop.orders if o.id not in rig.despatched]
        rig.add_orders(shop, 3)
        await rig.publish_despatches(shop, despatched)
        assert await terminate_backends(rig.database_url) > 0
        await rig.wait_ready()
    await rig.downloaded_once(shop)
    await rig.publish_despatches(shop, [o for o in shop.orders if o.id not in rig.despatched])

    await rig.all_done(shop)
    assert all(rig.services[name].process.returncode is None for name in SERVICES)  # type: ignore[union-attr]
