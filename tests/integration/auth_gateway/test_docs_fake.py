"""The gateway against a BigCommerce built only from the docs' examples, not from our sandbox."""

from __future__ import annotations

import json

import asyncpg
import pytest
from aio_pika.abc import AbstractRobustConnection
from auth_gateway.context import secret_digest
from auth_gateway.pages.installed import INSTALLED_LINK_TEXT
from auth_gateway.webhook_registration import HOOK_SCOPE, WEBHOOK_HEADER
from common.amqp import Topology

from tests.support.auth_gateway import CLIENT_ID, CLIENT_SECRET, DocsRig, run_docs_rig

# the browser's query as BigCommerce's redirect writes it: scope "+"-encoded, context "%2F"-encoded
AUTH_QUERY = (
    "code=qr6h3thvbvag2ffq&scope=store_v2_orders+store_v2_information_read_only&context=stores%2Fg5cd38"
)


async def test_documented_exchange_and_minimal_token_response_install_a_pending_channel(
    docs: DocsRig,
) -> None:
    status, page = await docs.auth(AUTH_QUERY)  # no account_uuid, as in older callbacks
    assert status == 200
    assert INSTALLED_LINK_TEXT in page

    [(content_type, body)] = docs.fake.token_requests
    assert content_type == "application/json"
    assert body == {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "code": "qr6h3thvbvag2ffq",
        "context": "stores/g5cd38",
        "scope": "store_v2_orders store_v2_information_read_only",
        "grant_type": "authorization_code",
        "redirect_uri": f"{docs.settings.public_base_url}/bigcommerce/auth",
    }
    status, channels = await docs.api("GET", "/api/v1/channels")
    assert status == 200
    [channel] = channels  # a bare array
    assert (channel["store_hash"], channel["status"], channel["store_name"]) == (
        "g5cd38",
        "pending",
        "Docs Store",
    )
    assert (channel["username"], channel["connection_expires"]) == ("merchant@example.com", None)


@pytest.mark.parametrize(
    "answer",
    [
        (200, b"[]"),
        (200, b'{"id": "g5cd38", "name": {"first": "odd"}}'),
        (404, b'[{"status": 404, "message": "The requested resource was not found."}]'),
        (500, b"<html>Internal error</html>"),
    ],
    ids=["not an object", "odd types", "not found", "server error"],
)
async def test_unreadable_store_information_still_installs(docs: DocsRig, answer: tuple[int, bytes]) -> None:
    docs.fake.store_answer = answer
    assert (await docs.auth(AUTH_QUERY))[0] == 200
    [channel] = (await docs.api("GET", "/api/v1/channels"))[1]
    assert (channel["status"], channel["store_name"], channel["country"]) == ("pending", "", "")
    path = f"/api/v1/channels/{channel['id']}/activate"
    status, problem = await docs.api("POST", path, json={"trading_name": "Your Company"})
    assert status == 409
    assert [e["field"] for e in problem["errors"]] == ["store_name"]
    assert "store_name" in problem["detail"]
    assert (await docs.api("GET", f"/api/v1/channels/{channel['id']}"))[1][
        "trading_name"
    ] == ""  # refused: unchanged
    status, activated = await docs.api(
        "POST", path, json={"trading_name": "Your Company", "store_name": "Shop"}
    )
    assert (status, activated["status"]) == (200, "active")


async def test_store_information_refused_with_a_fresh_token_stops_the_install(docs: DocsRig) -> None:
    docs.fake.store_answer = (401, b'{"status": 401, "title": "Unauthorized"}')
    status, page = await docs.auth(AUTH_QUERY)
    assert status == 403
    assert INSTALLED_LINK_TEXT not in page
    assert await docs.pool.fetchval("SELECT count(*) FROM channels") == 0


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ((400, b"<html><body>Invalid code</body></html>"), 400),
        ((401, b'{"error": {"code": 7, "text": "nope"}}'), 400),
        ((200, b'{"unexpected": true}'), 400),
        ((503, b""), 502),
    ],
    ids=["html", "nested json", "nonsense grant", "unavailable"],
)
async def test_login_service_errors_of_any_shape_get_an_error_page(
    docs: DocsRig, answer: tuple[int, bytes], expected: int
) -> None:
    docs.fake.token_answer = answer
    status, page = await docs.auth(AUTH_QUERY)
    assert status == expected
    assert "<html" in page
    assert INSTALLED_LINK_TEXT not in page
    assert await docs.pool.fetchval("SELECT count(*) FROM channels") == 0


async def test_activation_succeeds_when_bigcommerce_refuses_a_plain_http_destination(docs: DocsRig) -> None:
    assert (await docs.auth(AUTH_QUERY))[0] == 200
    [channel] = (await docs.api("GET", "/api/v1/channels"))[1]
    status, body = await docs.api(
        "POST", f"/api/v1/channels/{channel['id']}/activate", json={"trading_name": "Your Company"}
    )
    assert (status, body["status"], body["last_error"]) == (200, "active", None)
    assert docs.fake.hooks == []  # refused with 422: https on port 443 only


@pytest.mark.parametrize("listable", [True, False], ids=["listed first", "no list endpoint"])
async def test_hook_is_registered_with_the_documented_body(
    database_url: str,
    amqp_url: str,
    topology: Topology,
    amqp_connection: AbstractRobustConnection,
    pool: asyncpg.Pool,
    listable: bool,
) -> None:
    async with run_docs_rig(
        database_url=database_url,
        amqp_url=amqp_url,
        exchange=topology.exchange,
        pool=pool,
        public_base_url="https://connector.example.com",
    ) as docs:
        docs.fake.hooks_listable = listable
        assert (await docs.auth(AUTH_QUERY))[0] == 200
        channel_id = await pool.fetchval("SELECT id FROM channels")
        status, _ = await docs.api(
            "POST", f"/api/v1/channels/{channel_id}/activate", json={"trading_name": "Your Company"}
        )
        assert status == 200
        [hook] = docs.fake.hooks
        assert {k: hook[k] for k in ("scope", "destination", "is_active")} == {
            "scope": HOOK_SCOPE,
            "destination": "https://connector.example.com/bigcommerce/webhooks",
            "is_active": True,
        }
        assert set(hook) == {"id", "client_id", "store_hash", "scope", "destination", "is_active", "headers"}
        [(name, secret)] = hook["headers"].items()
        # the store's own secret, which deliveries must carry back
        assert name == WEBHOOK_HEADER
        digest = await pool.fetchval("SELECT webhook_secret_sha256 FROM channels")
        assert secret_digest(secret) == digest


async def test_reinstall_keeps_known_store_facts_when_the_store_cannot_be_read(docs: DocsRig) -> None:
    facts = {"id": "g5cd38", "name": "Docs Store", "country": "United Kingdom", "weight_units": "Grams"}
    docs.fake.store_answer = (200, json.dumps({**facts, "plan_name": "Plus"}).encode())
    assert (await docs.auth(AUTH_QUERY))[0] == 200
    docs.fake.store_answer = (404, b'[{"status": 404, "message": "The requested resource was not found."}]')
    assert (await docs.auth(AUTH_QUERY.replace("qr6h3thvbvag2ffq", "second-code")))[0] == 200
    row = await docs.pool.fetchrow("SELECT store_name, country, weight_units, plan_name FROM channels")
    assert row is not None
    assert tuple(row) == ("Docs Store", "United Kingdom", "Grams", "Plus")
    assert len(docs.fake.token_requests) == 2
