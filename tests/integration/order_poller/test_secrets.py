"""Malformed HTTP from BigCommerce (or a proxy): the token it was sent with never reaches last_error, a skip or a log."""

from __future__ import annotations

import asyncpg
import pytest
from bigcommerce_sandbox.faults import Fault
from common.db.channels import get_channel

from tests.support.order_poller import Rig, add_channel
from tests.support.secrets import assert_nowhere_in_database, captured_logs, log_output

__all__ = ["captured_logs"]  # the fixture, used by name


@pytest.mark.parametrize("path", [r"/orders$", r"/products$"])
async def test_malformed_http_is_described_by_type_and_status_only(
    rig: Rig, pool: asyncpg.Pool, captured_logs: pytest.CaptureFixture[str], path: str
) -> None:
    store_hash, token = rig.new_store()
    rig.sandbox.add_order(store_hash)
    channel_id = await add_channel(pool, rig.cipher, store_hash, token, weight_units="Grams")
    fault = rig.sandbox.faults(store_hash).add(Fault("malformed_http", method="GET", path_pattern=path))

    await rig.poller().run_once()

    assert fault.fired
    channel = await get_channel(pool, channel_id)
    assert channel is not None
    stored = [channel.last_error or ""]
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
