"""Malformed HTTP while writing back: the token never reaches a despatch's reason, last_error, the API or a log."""

from __future__ import annotations

import asyncpg
import pytest
from bigcommerce_sandbox.faults import Fault
from common.db.despatches import list_despatches

from tests.support.secrets import assert_nowhere_in_database, captured_logs, log_output
from tests.support.status_writer import despatch, writer_rig

__all__ = ["captured_logs"]  # the fixture, used by name


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_malformed_http_is_described_by_type_and_status_only(
    pool: asyncpg.Pool, captured_logs: pytest.CaptureFixture[str], method: str
) -> None:
    async with writer_rig(pool) as rig:
        store_hash, channel_id = await rig.new_channel()
        token = next(t for t, v in rig.sandbox.tokens.items() if v.store_hash == store_hash)
        order = rig.order(store_hash)
        await rig.record(despatch(channel_id, store_hash, order.id))
        fault = rig.sandbox.faults(store_hash).add(Fault("malformed_http", method=method))

        await rig.writer().flush_once()

        assert fault.fired
        (row,) = await rig.despatches(channel_id)
        last_error = await pool.fetchval(
            "SELECT last_writeback_error FROM channels WHERE id = $1", channel_id
        )
        for text in (row["reason"], last_error):
            assert "ClientResponseError (status 400)" in text
            assert "RequestInfo" not in text
            assert "X-Auth-Token" not in text
        shown = await list_despatches(pool, channel_id, row["state"])  # what the API answers
        assert token not in shown[0].model_dump_json()
        await assert_nowhere_in_database(pool, token)
        output = log_output(captured_logs)
        assert "despatch_settled" in output  # the capture works
        assert token not in output
