"""Request headers, error classification, and retries of transient failures."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web
from common.bigcommerce import (
    BigCommerceError,
    InvalidRequest,
    MissingScope,
    NotFound,
    ReauthorizationRequired,
    RetryPolicy,
    Unavailable,
)
from structlog.testing import capture_logs

from .conftest import CLIENT_ID, STORE, TOKEN, Backoff, MakeClient, RequestLog, Serve

V2_404 = [{"status": 404, "message": "The requested resource was not found."}]
V3_401 = {
    "status": 401,
    "title": "Unauthorized - the v3 Auth client ID or token in the request are not a valid "
    "combination for this store.",
    "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes",
}
V3_403 = {"status": 403, "title": "Missing scope", "type": "https://example/403"}
V3_422 = {
    "status": 422,
    "title": "JSON data is missing or invalid",
    "type": "https://example/422",
    "errors": {"destination": "error.path.missing."},
}
V2_400 = [
    {
        "status": 400,
        "message": "The field 'product_id' cannot be written to. Please remove it from your "
        "request before trying again.",
    }
]


def scripted_app(log: RequestLog, path: str, replies: list[tuple[int, Any]]) -> web.Application:
    """Answers `path` with the scripted (status, JSON body) replies in turn, then repeats the last."""

    async def handler(request: web.Request) -> web.StreamResponse:
        await log.note(request)
        status, body = replies[min(len(log.seen), len(replies)) - 1]
        if body is None:
            return web.Response(status=status)
        if isinstance(body, str):
            return web.Response(status=status, text=body, content_type="text/html")
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_route("*", f"/stores/{STORE}{path}", handler)
    return app


ORDER = {
    "id": 101,
    "status_id": 9,
    "date_created": "Tue, 20 Nov 2012 00:00:00 +0000",
    "date_modified": "Tue, 20 Nov 2012 00:00:00 +0000",
}


async def test_requests_carry_token_accept_and_client_headers(
    serve: Serve, make_client: MakeClient, request_log: RequestLog
) -> None:
    url = await serve(scripted_app(request_log, "/v2/orders/101", [(200, ORDER)]))
    api = make_client(url).store(STORE, TOKEN)

    await api.get_order(101)
    order = await api.update_order_status(101, 2)

    get, put = request_log.seen
    assert get.headers["X-Auth-Token"] == TOKEN
    assert get.headers["X-Auth-Client"] == CLIENT_ID
    assert get.headers["Accept"] == "application/json"
    assert "Content-Type" not in get.headers
    assert put.method == "PUT"
    assert put.headers["Content-Type"] == "application/json"
    assert put.body == {"status_id": 2}  # nothing else: a PUT with products has side effects
    assert order is not None
    assert order.id == 101


@pytest.mark.parametrize(("status", "body"), [(200, {}), (200, {"data": "ok"}), (204, None)])
async def test_a_status_change_answered_without_a_readable_order_still_succeeds(
    serve: Serve, make_client: MakeClient, request_log: RequestLog, status: int, body: object
) -> None:
    url = await serve(scripted_app(request_log, "/v2/orders/101", [(status, body)]))
    api = make_client(url).store(STORE, TOKEN)

    assert await api.update_order_status(101, 10) is None
    assert request_log.seen[0].body == {"status_id": 10}


async def test_no_client_header_without_client_id(
    serve: Serve, make_client: MakeClient, request_log: RequestLog
) -> None:
    url = await serve(scripted_app(request_log, "/v2/store", [(200, {"id": STORE, "weight_units": "kg"})]))
    api = make_client(url, client_id=None).store(STORE, TOKEN)

    info = await api.get_store_info()

    assert info.weight_units == "kg"
    assert "X-Auth-Client" not in request_log.seen[0].headers


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (401, V3_401, ReauthorizationRequired, "Unauthorized"),
        (403, V3_403, MissingScope, "Missing scope"),
        (404, V2_404, NotFound, "The requested resource was not found."),
        (422, V3_422, InvalidRequest, "destination: error.path.missing."),
        (400, V2_400, InvalidRequest, "The field 'product_id' cannot be written to"),
        (409, [{"status": 409, "message": "Conflict"}], InvalidRequest, "Conflict"),
        (413, [{"status": 413, "message": "Too large"}], InvalidRequest, "Too large"),
        (415, "<html>Unsupported</html>", InvalidRequest, "Unsupported"),
        (501, [{"status": 501, "message": "Not implemented"}], BigCommerceError, "Not implemented"),
    ],
)
async def test_errors_are_classified_and_not_retried(
    serve: Serve,
    make_client: MakeClient,
    request_log: RequestLog,
    backoff: Backoff,
    status: int,
    body: Any,
    error: type[BigCommerceError],
    message: str,
) -> None:
    url = await serve(scripted_app(request_log, "/v2/orders/101", [(status, body)]))
    api = make_client(url).store(STORE, TOKEN)

    with pytest.raises(error) as raised:
        await api.get_order(101)

    exc = raised.value
    assert type(exc) is error
    assert message in exc.message
    assert (exc.store_hash, exc.method, exc.path, exc.status) == (
        STORE,
        "GET",
        "/v2/orders/101",
        status,
    )
    assert len(request_log.seen) == 1
    assert backoff.delays == []
    assert TOKEN not in str(exc)


async def test_invalid_request_carries_the_v3_field_errors(
    serve: Serve, make_client: MakeClient, request_log: RequestLog
) -> None:
    url = await serve(scripted_app(request_log, "/v3/hooks", [(422, V3_422)]))
    api = make_client(url).store(STORE, TOKEN)

    with pytest.raises(InvalidRequest) as raised:
        await api.create_hook("store/order/statusUpdated", "")

    assert raised.value.details == {"destination": "error.path.missing."}
    assert len(request_log.seen) == 1  # a 422 is never retried, not even after a lookup


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_transient_5xx_is_retried_with_growing_backoff(
    serve: Serve, make_client: MakeClient, request_log: RequestLog, backoff: Backoff, status: int
) -> None:
    replies = [(status, [{"status": status, "message": "busy"}])] * 3 + [(200, ORDER)]
    url = await serve(scripted_app(request_log, "/v2/orders/101", replies))
    api = make_client(url, max_attempts=4).store(STORE, TOKEN)

    order = await api.get_order(101)

    assert order.id == 101
    assert len(request_log.seen) == 4
    assert backoff.delays == [1.0, 2.0, 4.0]  # random() pinned to 1: the jitter's upper bound


async def test_retries_exhausted_raise_unavailable_with_the_last_cause(
    serve: Serve, make_client: MakeClient, request_log: RequestLog
) -> None:
    url = await serve(scripted_app(request_log, "/v2/store", [(503, V2_404)]))
    api = make_client(url, max_attempts=3).store(STORE, TOKEN)

    with pytest.raises(Unavailable) as raised:
        await api.get_store_info()

    assert raised.value.status == 503
    assert raised.value.attempts == 3
    assert isinstance(raised.value.cause, BigCommerceError)
    assert raised.value.cause.status == 503
    assert len(request_log.seen) == 3


async def test_connection_errors_are_retried_then_unavailable(
    make_client: MakeClient, backoff: Backoff
) -> None:
    # Port 9 on localhost: nothing listens, the connection is refused at once.
    api = make_client("http://127.0.0.1:9", max_attempts=3).store(STORE, TOKEN)

    with pytest.raises(Unavailable) as raised:
        await api.get_store_info()

    assert raised.value.status is None
    assert raised.value.cause is not None
    assert len(backoff.delays) == 2


def test_writes_wait_longer_between_attempts_than_reads() -> None:
    policy = RetryPolicy(random=lambda: 0.5)

    reads = [policy.delay(n, write=False) for n in (1, 2, 3)]
    writes = [policy.delay(n, write=True) for n in (1, 2, 3)]

    assert reads == sorted(reads)
    assert writes == sorted(writes)
    assert all(w > r for w, r in zip(writes, reads, strict=True))
    assert policy.delay(30, write=True) <= policy.max_backoff_s


def test_full_jitter_spans_zero_to_the_exponential_cap() -> None:
    assert RetryPolicy(random=lambda: 0.0).delay(3, write=False) == 0.0
    assert RetryPolicy(random=lambda: 1.0).delay(3, write=False) == 4.0


async def test_token_never_appears_in_logs_or_reprs(
    serve: Serve, make_client: MakeClient, request_log: RequestLog
) -> None:
    replies = [(500, V2_404), (401, V3_401)]
    url = await serve(scripted_app(request_log, "/v2/orders/101", replies))
    api = make_client(url).store(STORE, TOKEN)

    with capture_logs() as logs, pytest.raises(ReauthorizationRequired):
        await api.get_order(101)

    assert logs  # the retry was logged
    assert TOKEN not in json.dumps(logs, default=str)
    assert TOKEN not in repr(api)
