"""The Status column's chain icons, inline SVG (no external assets), each with an accessible name."""

from __future__ import annotations

from html import escape

from common.db.channels import ChannelStatus

# Two links of a chain, joined: the guide's green chain of an active integration.
_CHAIN = (
    '<path d="M10 14a4.5 4.5 0 0 0 6.4 0l3.2-3.2a4.5 4.5 0 0 0-6.4-6.4l-1.4 1.4"/>'
    '<path d="M14 10a4.5 4.5 0 0 0-6.4 0l-3.2 3.2a4.5 4.5 0 0 0 6.4 6.4l1.4-1.4"/>'
)
# The same links pulled apart, with the break marked: no connection.
_BROKEN_CHAIN = (
    '<path d="M13.5 8.2l1.2-1.2a3.3 3.3 0 0 1 4.7 4.7l-1.8 1.8"/>'
    '<path d="M10.5 15.8l-1.2 1.2a3.3 3.3 0 0 1-4.7-4.7l1.8-1.8"/>'
    '<path d="M8 3v2.5M3 8h2.5M16 21v-2.5M21 16h-2.5"/>'
)


def status_icon(status: ChannelStatus, label: str) -> str:
    """The icon for a status, named `label` for screen readers (and shown as a tooltip)."""
    shape = _BROKEN_CHAIN if status in ("disconnected", "reauthorization_required") else _CHAIN
    name = escape(label)
    return (
        f'<span class="status-icon icon-{status}">'
        f'<svg role="img" aria-label="{name}" viewBox="0 0 24 24" fill="none" stroke="currentColor" '
        f'stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round" focusable="false">'
        f"<title>{name}</title>{shape}</svg></span>"
    )
