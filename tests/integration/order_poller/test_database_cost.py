"""What the poll loop costs the database: statements per idle poll, and index reads whatever the store count."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from order_poller.db.schedule import CLAIM_DUE, SECONDS_TO_NEXT_CLAIMABLE
from order_poller.poller import Poller

from tests.support.order_poller import FAST_CONFIG, Rig

STATEMENTS = ("execute", "executemany", "fetch", "fetchrow", "fetchval", "acquire")


class CountingPool:
    """The pool, counting what reaches the database: each call is one statement (and, outside an
    explicit transaction, one transaction); an `acquire` is counted too, as it may open one."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._pool, name)
        if name not in STATEMENTS:
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name if name == "acquire" else " ".join(str(args[0]).split())[:60])
            return attribute(*args, **kwargs)

        return counted


async def test_an_idle_poll_costs_at_most_three_statements(rig: Rig, pool: asyncpg.Pool) -> None:
    store_hash, channel_id = await rig.new_channel(weight_units="Grams")
    # created and last modified before this poller's first change scan (it runs on the real clock,
    # the sandbox an hour ahead): a later scan lists none of them
    earlier = datetime.now(UTC) - timedelta(hours=1)
    for _ in range(30):
        rig.sandbox.add_order(store_hash, created=earlier)
    empty_hash, empty_id = await rig.new_channel(weight_units="Grams")
    counting = CountingPool(pool)
    # the production loop's settings: no driven schedule clock (the database's now() decides), the
    # guard's re-read at most every second
    config = FAST_CONFIG.__class__(**{**FAST_CONFIG.__dict__, "recheck_interval_s": 1.0})
    poller = Poller(counting, rig.client, rig.cipher, config)  # type: ignore[arg-type]
    assert len(await poller.poll_due_channels(limit=1)) == 1  # the first poll downloads the 30 orders
    await poller.poll_due_channels(limit=1)  # and the empty store's
    assert await pool.fetchval("SELECT count(*) FROM downloaded_orders") == 30

    # both due again, the busy store first
    for due, ago_s in ((channel_id, 2), (empty_id, 1)):
        await pool.execute(
            "UPDATE channels SET next_download_at = now() - make_interval(secs => $2) WHERE id = $1",
            due,
            ago_s,
        )
    counting.calls.clear()
    (busy,) = await poller.poll_due_channels(limit=1)
    busy_calls = list(counting.calls)
    counting.calls.clear()
    (empty,) = await poller.poll_due_channels(limit=1)
    empty_calls = list(counting.calls)

    assert (busy.store_hash, empty.store_hash) == (store_hash, empty_hash)
    assert (busy.outcome, busy.report.listed, busy.report.downloaded) == ("ok", 30, 0)
    # claim (with the change scan's cursor), the page's "which of these are known", finish; the
    # change scan's listing finds nothing modified since the last scan
    assert len(busy_calls) == 3, busy_calls
    # claim and finish: empty listings ask the database nothing
    assert empty.outcome == "ok"
    assert len(empty_calls) == 2, empty_calls
    row = await pool.fetchrow(
        "SELECT next_download_at, last_download_at FROM channels WHERE id = $1", channel_id
    )
    assert row is not None
    assert row["next_download_at"] - row["last_download_at"] >= timedelta(seconds=600)


def _plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes.extend(_plan_nodes(child))
    return nodes


async def _explain(pool: asyncpg.Pool, query: str, *args: object) -> list[dict[str, Any]]:
    raw = await pool.fetchval("EXPLAIN (FORMAT JSON) " + query, *args)
    plan = json.loads(raw) if isinstance(raw, str) else raw  # the pool may decode json itself
    return _plan_nodes(plan[0]["Plan"])


async def test_claim_and_next_due_read_an_index_not_every_channel(rig: Rig, pool: asyncpg.Pool) -> None:
    now = rig.time.now()
    rows = [
        (uuid.uuid4(), f"s{index:07d}", b"token", now + timedelta(seconds=index % 900))
        for index in range(20_000)
    ]
    await pool.executemany(
        "INSERT INTO channels (id, store_hash, status, access_token_encrypted, next_download_at)"
        " VALUES ($1, $2, 'active', $3, $4)",
        rows,
    )
    await pool.execute("ANALYZE channels")

    for nodes in (
        await _explain(pool, CLAIM_DUE, now, 8, "replica", None, 60.0),
        await _explain(pool, CLAIM_DUE, None, 8, "replica", None, 60.0),
        await _explain(pool, SECONDS_TO_NEXT_CLAIMABLE, None),
    ):
        scans = [(n["Node Type"], n.get("Index Name")) for n in nodes if n.get("Relation Name") == "channels"]
        assert ("Seq Scan", None) not in scans, scans
        assert any(name == "channels_claimable_idx" for _, name in scans), scans
        assert any(n["Node Type"] == "Limit" for n in nodes)
