"""Bounded reads (response size, pages, time per order) and the hook run before every request."""

from __future__ import annotations

import asyncio
import gzip
import json
from datetime import UTC, datetime

import pytest
from aiohttp import web
from common.bigcommerce import ReadLimits, ResponseTooLarge, TimeBudgetExceeded, TooManyPages
from common.bigcommerce.budget import time_budget

from .conftest import STORE, TOKEN, MakeClient, RequestLog, Serve


def orders_app(
    log: RequestLog, *, rows_per_page: int, body_padding: int = 0, gzipped: bool = False
) -> web.Application:
    """Every page of /v2/orders is full (a server that never runs out), optionally padded or gzipped."""

    async def handler(request: web.Request) -> web.Response:
        await log.note(request)
        page = int(request.query.get("page", "1"))
        rows = [{"id": page * 1000 + n, "note": "x" * body_padding} for n in range(rows_per_page)]
        body = json.dumps(rows).encode()
        if gzipped:
            return web.Response(
                body=gzip.compress(body),
                headers={"Content-Encoding": "gzip"},
                content_type="application/json",
            )
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get(f"/stores/{STORE}/v2/orders", handler)
    return app


async def test_a_listing_past_the_page_cap_is_refused_with_a_clear_error(
    serve: Serve, make_client: MakeClient, request_log: RequestLog
) -> None:
    url = await serve(orders_app(request_log, rows_per_page=250))
    store = make_client(url, limits=ReadLimits(max_pages=3)).store(STORE, TOKEN)

    since = datetime(2026, 11, 20, tzinfo=UTC)
    with pytest.raises(TooManyPages, match="past 3 pages") as raised:
        async for _ in store.iter_listed_orders(status_id=9, min_date_created=since):
            pass

    assert raised.value.path == "/v2/orders"
    assert len(request_log.seen) == 3  # the fourth page is never asked for


@pytest.mark.parametrize("gzipped", [False, True])
async def test_a_response_past_the_size_cap_is_refused_and_not_retried(
    serve: Serve, make_client: MakeClient, request_log: RequestLog, gzipped: bool
) -> None:
    url = await serve(orders_app(request_log, rows_per_page=10, body_padding=10_000, gzipped=gzipped))
    store = make_client(url, limits=ReadLimits(max_response_bytes=50_000)).store(STORE, TOKEN)

    since = datetime(2026, 11, 20, tzinfo=UTC)
    with pytest.raises(ResponseTooLarge, match="larger than 50000 bytes"):
        async for _ in store.iter_listed_orders(status_id=9, min_date_created=since):
            pass

    assert len(request_log.seen) == 1


async def test_the_order_time_budget_cuts_retries_short_with_a_clear_error() -> None:
    with pytest.raises(TimeBudgetExceeded, match=r"order 7 took longer than its budget of 0\.05 s") as raised:
        async with time_budget(0.05, store_hash=STORE, what="order 7"):
            await asyncio.Event().wait()  # a request that never answers
    assert raised.value.store_hash == STORE


async def test_a_timeout_inside_the_budget_stays_what_it_was() -> None:
    with pytest.raises(TimeoutError):
        async with time_budget(10, store_hash=STORE, what="order 7"):
            raise TimeoutError("the database's command timeout")


async def test_the_hook_runs_before_every_attempt_and_can_stop_the_request(
    serve: Serve, make_client: MakeClient, request_log: RequestLog
) -> None:
    answers = iter([503, 503, 200])

    async def handler(request: web.Request) -> web.Response:
        await request_log.note(request)
        status = next(answers)
        return web.json_response({"id": STORE} if status == 200 else {"title": "busy"}, status=status)

    app = web.Application()
    app.router.add_get(f"/stores/{STORE}/v2/store", handler)
    url = await serve(app)
    checks: list[int] = []

    async def renew_lease() -> None:
        checks.append(len(request_log.seen))

    await make_client(url).store(STORE, TOKEN, before_request=renew_lease).get_store_info()
    assert checks == [0, 1, 2]  # before each attempt, the retries included

    class LeaseLost(Exception):
        pass

    async def lost() -> None:
        raise LeaseLost

    sent = len(request_log.seen)
    with pytest.raises(LeaseLost):
        await make_client(url).store(STORE, TOKEN, before_request=lost).get_store_info()
    assert len(request_log.seen) == sent  # nothing was sent
