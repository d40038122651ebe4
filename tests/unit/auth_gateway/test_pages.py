"""The merchant pages' wording and markup rules, without a server: each state's way out, the sync panel."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from auth_gateway.channel_states import can_activate, events_after_activation, keeps_grant_on_disconnect
from auth_gateway.models import ChannelView
from auth_gateway.pages.flash import Flash
from auth_gateway.pages.settings_page import SettingsPage, settings_page
from auth_gateway.pages.states import state_text
from auth_gateway.pages.sync_panel import sync_panel, when
from auth_gateway.sync_health import FailedWriteBack, SyncHealth
from common.db.order_counts import OrderCounts

NOW = datetime(2026, 11, 27, 10, 15, tzinfo=UTC)


def view(**fields: Any) -> ChannelView:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "store_hash": "abc123",
        "store_name": "Tea Shop",
        "trading_name": "Tea & Co",
        "country": "United Kingdom",
        "username": "owner@example.com",
        "status": "active",
        "mark_orders_as_despatched": True,
        "order_status_ids": [9],
        "despatched_order_status": "completed",
        "last_download_at": None,
        "next_download_at": None,
        "last_writeback_at": None,
        "pending_despatches": 0,
        "last_error": None,
        "last_download_error": None,
        "last_writeback_error": None,
        **fields,
    }
    return ChannelView(**values)


def health(downloaded: int = 0, skipped_by_reason: dict[str, int] | None = None) -> SyncHealth:
    reasons = skipped_by_reason or {}
    counts = OrderCounts(
        downloaded_orders=downloaded, skipped_orders=sum(reasons.values()), skipped_by_reason=reasons
    )
    return SyncHealth(counts=counts, failed=(), more_failed=False)


@pytest.mark.parametrize(
    ("status", "reconnectable", "label", "way_out"),
    [
        ("pending", False, "Not yet active", "activate"),
        ("active", False, "Active", "none"),
        ("reauthorization_required", False, "Reconnection needed", "reopen_app"),
        ("disconnected", True, "Disconnected", "activate"),
        ("disconnected", False, "Disconnected", "install_app"),
    ],
)
def test_each_state_has_its_label_and_one_way_out(
    status: str, reconnectable: bool, label: str, way_out: str
) -> None:
    state = state_text(view(status=status, reconnectable=reconnectable))
    assert (state.label, state.way_out) == (label, way_out)
    # the page offers "Update and activate" exactly where the operation accepts it
    holds_grant = status != "disconnected" or reconnectable
    assert state.can_activate == can_activate(status, holds_grant=holds_grant)  # type: ignore[arg-type]
    assert state.connected == (status != "disconnected")


def test_reconnecting_publishes_connected_then_activated() -> None:
    cid = uuid.uuid4()
    assert events_after_activation(cid, "abc", "active") == []
    assert [e.event_type for e in events_after_activation(cid, "abc", "pending")] == ["ChannelActivated"]
    back = events_after_activation(cid, "abc", "disconnected")
    assert [(e.event_type, e.status) for e in back] == [
        ("ChannelConnected", "active"),
        ("ChannelActivated", "active"),
    ]
    assert keeps_grant_on_disconnect("active")
    assert not keeps_grant_on_disconnect("reauthorization_required")


def test_the_sync_panel_says_when_and_why_in_the_merchants_words() -> None:
    shown = sync_panel(
        view(last_download_at=NOW - timedelta(minutes=3), next_download_at=NOW + timedelta(minutes=9)),
        health(4, {"digital_order": 2, "mystery": 1}),
        "csrf",
        NOW,
    )
    assert '<time datetime="2026-11-27T10:12:00+00:00">27 Nov 2026, 10:12 UTC</time>' in shown
    assert "27 Nov 2026, 10:24 UTC" in shown
    assert "<li>2 only digital items, nothing to post</li><li>1 mystery</li>" in shown
    assert "<dd>4</dd>" in shown

    due = sync_panel(view(next_download_at=NOW - timedelta(seconds=1)), health(), "csrf", NOW)
    assert "<dt>Next download</dt><dd>Now</dd>" in due
    stopped = sync_panel(view(status="disconnected", last_error="Disconnected"), health(), "c", NOW)
    assert "Not scheduled: the channel is not active" in stopped
    assert "Last problem" not in stopped  # the state panel explains a stopped channel
    assert when(None) == "Not yet"


def test_failed_write_backs_carry_the_reason_escaped_and_a_named_retry() -> None:
    failed = FailedWriteBack(
        order_id=101,
        tracking_numbers=("TT123456785GB",),
        reasons=("<b>bad</b> tracking",),
        last_tried_at=NOW,
    )
    shown = sync_panel(view(), SyncHealth(health().counts, (failed,), True), "tok&en", NOW)
    assert "&lt;b&gt;bad&lt;/b&gt; tracking" in shown
    assert 'name="csrf_token" value="tok&amp;en"' in shown
    assert 'Retry<span class="visually-hidden"> order #101</span>' in shown
    assert "Only the latest are shown here." in shown


def test_the_settings_page_keeps_typed_values_and_names_the_field() -> None:
    flash = Flash.model_validate(
        {
            "field_errors": {"store_name": "Store name is required to activate the channel"},
            "typed": {"trading_name": '"><x', "store_name": "", "mark_orders_as_despatched": False},
        }
    )
    model = SettingsPage(view(status="pending"), health(), "csrf", flash, "https://login.example", NOW)
    html = settings_page(model).text or ""
    assert 'value="&quot;&gt;&lt;x"' in html
    assert 'id="store_name-error">Store name is required to activate the channel</p>' in html
    assert 'aria-describedby="store_name-error" aria-invalid="true" autofocus' in html
    assert 'role="alert"' in html
    assert "checked" not in html.split('id="mark_orders_as_despatched"')[1].split(">")[0]
