"""Text fields of the internal API and the settings form refuse NUL and other control characters, naming the field."""

from __future__ import annotations

import pytest

from tests.support.auth_gateway import GatewayRig

CONTROL = ["\x00", "\x01", "\x1b", "\x1f", "\x7f", "\x85", "\r"]
TEXT_FIELDS = ["trading_name", "store_name", "despatched_order_status"]


@pytest.mark.parametrize("character", CONTROL)
async def test_every_text_field_refuses_control_characters_and_changes_nothing(
    rig: GatewayRig, character: str
) -> None:
    store = rig.create_store()
    channel_id = await rig.installed_channel(store.hash)
    before = await rig.channel_row(store.hash)
    for field in TEXT_FIELDS:
        for where in ("edge", "middle"):
            value = f"{character}Shop" if where == "edge" else f"Tea{character}Shop"
            for method, path in (
                ("PATCH", f"/api/v1/channels/{channel_id}"),
                ("POST", f"/api/v1/channels/{channel_id}/activate"),
            ):
                body = {"trading_name": "Fine", field: value}
                status, problem, response = await rig.api(method, path, json=body)
                assert status == 422, (field, where, method, status)
                assert response.content_type == "application/problem+json"
                assert [e["field"] for e in problem["errors"]] == [field]
    for query in ({"status": f"active{character}"},):
        assert (await rig.api("GET", "/api/v1/channels", params=query))[0] == 422
    assert (await rig.api("GET", f"/api/v1/channels/{channel_id}/despatches", params={"state": character}))[
        0
    ] == 422
    assert await rig.channel_row(store.hash) == before


async def test_tab_and_newline_inside_a_name_are_accepted(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.installed_channel(store.hash)
    status, body, _ = await rig.api(
        "PATCH", f"/api/v1/channels/{channel_id}", json={"trading_name": "Tea\tand\nCake"}
    )
    assert (status, body["trading_name"]) == (200, "Tea\tand\nCake")


async def test_the_problem_says_what_is_wrong(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.installed_channel(store.hash)
    status, problem, _ = await rig.api(
        "PATCH", f"/api/v1/channels/{channel_id}", json={"store_name": "Bad\x00Name"}
    )
    assert status == 422
    (error,) = problem["errors"]
    assert error["field"] == "store_name"
    assert "control characters" in error["detail"]
    assert "store_name" in problem["detail"]
