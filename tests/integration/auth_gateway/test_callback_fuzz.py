"""Property tests of every BigCommerce callback and the webhook receiver: malformed input gets a 4xx, never a 5xx."""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

import jwt
from auth_gateway.webhook_registration import WEBHOOK_HEADER
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.auth_gateway import CLIENT_ID, CLIENT_SECRET, GatewayRig

CALLBACKS = ["load", "uninstall", "remove-user", "remove_user"]
PRODUCER = re.compile(r"^stores/[A-Za-z0-9]{1,64}$")
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)

texts = st.text(max_size=40)  # any code point: NUL, controls, surrogates excluded by the codec below
printable = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(texts, children, max_size=3),
    max_leaves=8,
)
numbers = st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=False), texts)
users = st.one_of(
    json_values,
    st.fixed_dictionaries({"id": st.one_of(st.integers(), texts), "email": st.one_of(texts, json_values)}),
)


def claims(store_hash: str) -> st.SearchStrategy[dict[str, Any]]:
    """Claims of a JWT signed with the right secret: each field valid, odd or absent."""
    now = int(time.time())
    return st.fixed_dictionaries(
        {},
        optional={
            "aud": st.one_of(st.just(CLIENT_ID), json_values),
            "iss": st.one_of(st.just("bc"), texts),
            "nbf": st.one_of(st.just(now - 5), numbers),
            "exp": st.one_of(st.just(now + 600), numbers),
            "iat": st.one_of(st.just(now), numbers),
            "jti": st.one_of(st.uuids().map(str), json_values),
            "sub": st.one_of(
                st.just(f"stores/{store_hash}"), texts.map(lambda t: f"stores/{t}"), json_values
            ),
            "user": users,
            "owner": users,
        },
    )


def signed(payload: dict[str, Any]) -> str | None:
    try:
        return jwt.encode(payload, CLIENT_SECRET, algorithm="HS256")
    except (TypeError, ValueError, OverflowError):
        return None  # not even encodable as JSON: nothing BigCommerce could send


async def test_signed_callbacks_never_fail_with_a_server_error(rig: GatewayRig) -> None:
    store = rig.create_store()
    await rig.active_channel(store.hash)
    cases: list[tuple[str, str]] = []

    @FUZZ
    @given(callback=st.sampled_from(CALLBACKS), payload=claims(store.hash))
    def draw(callback: str, payload: dict[str, Any]) -> None:
        token = signed(payload)
        if token is not None:
            cases.append((callback, token))

    draw()
    for callback, token in cases:
        response = await rig.callback(callback, token)
        assert response.status < 500, (callback, jwt.decode(token, options={"verify_signature": False}))


async def test_malformed_callback_queries_get_a_4xx(rig: GatewayRig) -> None:
    store = rig.create_store()
    await rig.installed_channel(store.hash)
    cases: list[tuple[str, dict[str, str]]] = []
    query_names = st.sampled_from(["signed_payload_jwt", "code", "scope", "context", "account_uuid", "x"])
    values = st.one_of(
        texts,
        st.just(f"stores/{store.hash}"),
        st.sampled_from(["a.b.c", "eyJhbGciOiJub25lIn0.e30.", "stores/", "store_v2_orders"]),
    )

    @FUZZ
    @given(
        callback=st.sampled_from(["auth", *CALLBACKS]),
        query=st.dictionaries(query_names, values, max_size=4),
    )
    def draw(callback: str, query: dict[str, str]) -> None:
        cases.append((callback, query))

    draw()
    for callback, query in cases:
        url = f"{rig.base_url}/bigcommerce/{callback}"
        encodable = {
            k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k, v in query.items()
        }
        async with rig.http.get(url, params=encodable, allow_redirects=False) as response:
            await response.read()
            assert 400 <= response.status < 500, (callback, query, response.status)


async def test_the_webhook_receiver_never_fails_with_a_server_error(rig: GatewayRig) -> None:
    store = rig.create_store()
    await rig.active_channel(store.hash)
    secret = rig.sandbox.hooks_for(store.hash)[0].headers[WEBHOOK_HEADER]
    producers = st.one_of(st.just(f"stores/{store.hash}"), st.just("stores/nosuchstore"), texts, json_values)
    payloads = st.fixed_dictionaries(
        {},
        optional={
            "scope": st.one_of(st.just("store/order/statusUpdated"), json_values),
            "store_id": json_values,
            "producer": producers,
            "hash": st.one_of(texts, json_values),
            "created_at": json_values,
            "data": json_values,
        },
    )
    bodies = st.one_of(
        payloads.map(lambda p: json.dumps(p).encode()),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=80),
    )
    headers = st.one_of(st.none(), st.just(secret), printable)
    cases: list[tuple[bytes, str | None, str]] = []

    @FUZZ
    @given(body=bodies, header=headers, content_type=st.sampled_from(["application/json", "text/plain", ""]))
    def draw(body: bytes, header: str | None, content_type: str) -> None:
        cases.append((body, header, content_type))

    draw()
    for body, header, content_type in cases:
        sent = {"Content-Type": content_type} if content_type else {}
        if header is not None:
            sent[WEBHOOK_HEADER] = header
        async with rig.http.post(f"{rig.base_url}/bigcommerce/webhooks", data=body, headers=sent) as response:
            await response.read()
            assert response.status < 500, (body, header, response.status)
            if not _names_a_store(body):
                assert response.status == 400, (body, response.status)


def _names_a_store(body: bytes) -> bool:
    """Whether a delivery is JSON naming a store as `producer`; anything else is malformed (400)."""
    try:
        payload = json.loads(body)
    except ValueError:
        return False
    producer = payload.get("producer") if isinstance(payload, dict) else None
    return isinstance(producer, str) and PRODUCER.match(producer) is not None
