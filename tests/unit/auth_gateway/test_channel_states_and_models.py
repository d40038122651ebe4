"""The channel state machine, the scope subset check and the settings validation."""

from __future__ import annotations

import uuid

import pytest
from auth_gateway.channel_states import event_after_grant, status_after_grant
from auth_gateway.install import missing_scopes
from auth_gateway.models import ChannelSettings
from auth_gateway.settings import REQUIRED_SCOPES
from pydantic import ValidationError


@pytest.mark.parametrize(
    ("current", "ever_activated", "expected"),
    [
        (None, False, "pending"),
        ("pending", False, "pending"),
        ("active", True, "active"),
        ("reauthorization_required", True, "active"),
        ("disconnected", True, "active"),
        ("disconnected", False, "pending"),
    ],
)
def test_status_after_grant(current: str | None, ever_activated: bool, expected: str) -> None:
    assert status_after_grant(current, ever_activated=ever_activated) == expected  # type: ignore[arg-type]


def test_connected_event_only_when_created_or_back() -> None:
    cid = uuid.uuid4()
    assert event_after_grant(cid, "abc", None, "pending", created=True) is not None
    assert event_after_grant(cid, "abc", "disconnected", "active", created=False) is not None
    assert event_after_grant(cid, "abc", "active", "active", created=False) is None
    assert event_after_grant(cid, "abc", "pending", "pending", created=False) is None


def test_scopes_are_a_subset_check_with_alternatives() -> None:
    implicit = {"store_v2_default", "users_basic_information"}
    assert (
        missing_scopes(frozenset({"store_v2_orders", "store_v2_information", *implicit}), REQUIRED_SCOPES)
        == []
    )
    assert missing_scopes(
        frozenset({"store_v2_orders_read_only", "store_v2_information_read_only"}), REQUIRED_SCOPES
    ) == ["store_v2_orders"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"trading_name": None}, "trading_name"),
        ({"trading_name": 7}, "trading_name"),
        ({"store_name": "x" * 101}, "store_name"),
        ({"mark_orders_as_despatched": "yes"}, "mark_orders_as_despatched"),
        ({"order_status_ids": []}, "order_status_ids"),
        ({"order_status_ids": [0]}, "order_status_ids"),
        ({"order_status_ids": [9, 9]}, "order_status_ids"),
        ({"order_status_ids": [True]}, "order_status_ids"),
        ({"despatched_order_status": "cancelled"}, "despatched_order_status"),
        ({"status": "active"}, "status"),
    ],
)
def test_invalid_settings_name_the_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ChannelSettings.model_validate(body)
    assert [e["loc"][0] for e in caught.value.errors()] == [field]


def test_valid_settings_are_normalised() -> None:
    settings = ChannelSettings.model_validate({"trading_name": "  Shop ", "order_status_ids": [11, 9]})
    assert settings.to_change().trading_name == "Shop"
    assert settings.to_change().order_status_ids == [11, 9]  # the caller's order, read back as sent
    assert settings.to_change().store_name is None


def test_names_may_be_emptied() -> None:
    # emptiness is checked against the channel's state (activation), not here
    settings = ChannelSettings.model_validate({"trading_name": "  ", "store_name": ""})
    assert (settings.to_change().trading_name, settings.to_change().store_name) == ("", "")
    assert not settings.is_empty()
