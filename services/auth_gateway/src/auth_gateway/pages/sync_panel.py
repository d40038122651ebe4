"""The settings page's sync health panel: downloads, write-backs, and the write-backs that failed with Retry."""

from __future__ import annotations

from datetime import datetime
from html import escape

from auth_gateway.models import ChannelView
from auth_gateway.sync_health import FailedWriteBack, SyncHealth

# The poller's skip reasons (order_poller.mapping.SkipReason) in the merchant's words.
SKIP_REASONS = {
    "digital_order": "only digital items, nothing to post",
    "archived": "archived in BigCommerce",
    "no_physical_items": "nothing left to post (shipped, refunded or for collection)",
    "unknown_weight_unit": "the store's weight unit is not one Click & Drop knows; tried again at each download",
    "not_found": "BigCommerce could not find part of the order; tried again at each download",
    "malformed": "BigCommerce sent something Click & Drop could not read; tried again at each download",
}


def when(moment: datetime | None, *, never: str = "Not yet") -> str:
    """A time as the merchant reads it (UTC, said so), in a machine-readable <time>."""
    if moment is None:
        return escape(never)
    return f'<time datetime="{moment.isoformat()}">{moment.day} {moment:%b %Y, %H:%M} UTC</time>'


def _next_download(view: ChannelView, now: datetime) -> str:
    if view.status != "active":
        return "Not scheduled: the channel is not active"
    if view.next_download_at is None or view.next_download_at <= now:
        return "Now"
    return when(view.next_download_at)


def _skipped(health: SyncHealth) -> str:
    counts = health.counts
    if not counts.skipped_orders:
        return "0"
    reasons = "".join(
        f"<li>{n} {escape(SKIP_REASONS.get(reason, reason))}</li>"
        for reason, n in sorted(counts.skipped_by_reason.items(), key=lambda item: (-item[1], item[0]))
    )
    return f"{counts.skipped_orders}<ul>{reasons}</ul>"


def _retry_form(channel_id: str, csrf_token: str, order_id: int) -> str:
    return (
        f'<form class="inline" method="post" action="/channels/{channel_id}/settings/retry">'
        f'<input type="hidden" name="csrf_token" value="{escape(csrf_token)}">'
        f'<input type="hidden" name="order_id" value="{order_id}">'
        f'<button type="submit" class="secondary small">Retry<span class="visually-hidden"> order #{order_id}'
        "</span></button></form>"
    )


def _failed_row(channel_id: str, csrf_token: str, failed: FailedWriteBack) -> str:
    tracking = ", ".join(escape(t) for t in failed.tracking_numbers) or '<span class="muted">none</span>'
    reasons = "<br>".join(escape(r) for r in failed.reasons)
    return (
        f'<tr><th scope="row">#{failed.order_id}</th><td>{tracking}</td><td>{reasons}</td>'
        f"<td>{when(failed.last_tried_at)}</td><td>{_retry_form(channel_id, csrf_token, failed.order_id)}</td></tr>"
    )


def _failed_table(view: ChannelView, health: SyncHealth, csrf_token: str) -> str:
    if not health.failed:
        return "<p>None: every despatch BigCommerce was sent has been accepted.</p>"
    rows = "".join(_failed_row(str(view.id), csrf_token, f) for f in health.failed)
    more = '<p class="muted">Only the latest are shown here.</p>' if health.more_failed else ""
    return (
        "<p>BigCommerce refused these write-backs. Fix the cause in your store (its reason is shown), "
        "then click Retry: the order is written back at the next write-back.</p>"
        '<table><thead><tr><th scope="col">Order</th><th scope="col">Tracking number</th>'
        '<th scope="col">BigCommerce\'s reason</th><th scope="col">Last tried</th>'
        '<th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>'
        f"<tbody>{rows}</tbody></table>{more}"
    )


def sync_panel(view: ChannelView, health: SyncHealth, csrf_token: str, now: datetime) -> str:
    facts = [
        ("Last download", when(view.last_download_at)),
        ("Next download", _next_download(view, now)),
        ("Orders downloaded", str(health.counts.downloaded_orders)),
        ("Orders not downloaded", _skipped(health)),
        ("Last write-back", when(view.last_writeback_at)),
        ("Despatches waiting to be written back", str(view.pending_despatches)),
    ]
    if view.last_error and view.status in ("pending", "active"):
        # a stopped channel's reason is what the state panel explains
        facts.append(("Last problem", escape(view.last_error)))
    rows = "".join(f"<dt>{escape(term)}</dt><dd>{value}</dd>" for term, value in facts)
    return (
        '<section class="panel" aria-labelledby="sync-heading"><h2 id="sync-heading">Sync</h2>'
        f'<dl class="facts">{rows}</dl>'
        '<h3 id="failed-heading">Write-backs that failed</h3>'
        f"{_failed_table(view, health, csrf_token)}</section>"
    )
