"""What BigCommerce sends that must not get through: the token in a malformed-HTTP error, NUL in text."""

from __future__ import annotations

import asyncpg
import pytest
from aio_pika.abc import AbstractQueue
from bigcommerce_sandbox import Address, AddressSpec, LineSpec
from bigcommerce_sandbox.faults import Fault
from common.db.channels import get_channel
from common.outbox import OutboxRelay

from tests.support.order_poller import (
    Rig,
    add_channel,
    downloaded_ids,
    received_events,
    without_listed_weights,
)
from tests.support.secrets import assert_nowhere_in_database, captured_logs, log_output

__all__ = ["captured_logs"]  # the fixture, used by name


@pytest.mark.parametrize("path", [r"/orders$", r"/products$"])
async def test_malformed_http_is_described_by_type_and_status_only(
    rig: Rig, pool: asyncpg.Pool, captured_logs: pytest.CaptureFixture[str], path: str
) -> None:
    store_hash, token = rig.new_store()
    without_listed_weights(rig.sandbox.add_order(store_hash))  # /products is read too
    channel_id = await add_channel(pool, rig.cipher, store_hash, token, weight_units="Grams")
    fault = rig.sandbox.faults(store_hash).add(Fault("malformed_http", method="GET", path_pattern=path))

    await rig.poller().run_once()

    assert fault.fired
    channel = await get_channel(pool, channel_id)
    assert channel is not None
    stored = [channel.last_download_error or ""]
    stored += [r["detail"] for r in await pool.fetch("SELECT detail FROM skipped_orders")]
    assert any("ClientResponseError (status 400)" in text for text in stored), stored
    for text in stored:
        # aiohttp's repr carries the request headers; only type and status may be kept
        assert "RequestInfo" not in text
        assert "X-Auth-Token" not in text
    await assert_nowhere_in_database(pool, token)
    output = log_output(captured_logs)
    assert "store_poll" in output  # the capture works
    assert token not in output


async def test_nul_from_bigcommerce_is_removed_and_the_order_downloaded(
    rig: Rig, pool: asyncpg.Pool, relay: tuple[OutboxRelay, AbstractQueue]
) -> None:
    outbox, probe = relay
    store_hash, token = rig.new_store()
    address = Address(
        first_name="Zo\x00\u00eb", last_name="Smith\x07", street_1="1 High St", city="Leeds", zip="LS1"
    )
    order = rig.sandbox.add_order(
        store_hash,
        [LineSpec(name="Tea\x00 towel\tblue")],
        addresses=[AddressSpec(address=address)],
        customer_message="Leave\x00 it\nat the door",
    )
    await add_channel(pool, rig.cipher, store_hash, token, weight_units="Grams")

    await rig.poller().run_once()
    assert await outbox.run_once() == 1

    assert await downloaded_ids(pool, store_hash) == {order.id}
    (event,) = await received_events(probe, 1)
    (consignment,) = event.order.consignments
    # NUL removed (PostgreSQL cannot store it); everything else passed on unchanged (CONTRACT §3)
    assert consignment.items[0].name == "Tea towel\tblue"
    assert (consignment.address.first_name, consignment.address.last_name) == ("Zo\u00eb", "Smith\x07")
    assert event.order.customer_message == "Leave it\nat the door"
