"""Wire formats of the v2 API: RFC-2822 dates, 4-decimal money strings, filter date parsing."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import format_datetime, parsedate_to_datetime

# An RFC-2822 offset whose "+" was not URL-encoded arrives as a space ("11:32:00  0000"):
# BigCommerce then fails or ignores the filter (reference §10), so the sandbox refuses it.
_MANGLED_OFFSET = re.compile(r"\d{2}:\d{2}(:\d{2})?\s+\d{4}$")


def rfc2822(when: datetime | None) -> str:
    """A response date, always UTC: "Tue, 20 Nov 2012 00:00:00 +0000" ("" when unset)."""
    if when is None:
        return ""
    # format_datetime(usegmt=False) writes "+0000" for UTC, as BigCommerce does.
    return format_datetime(when.astimezone(UTC))


def money(value: Decimal | int) -> str:
    """A decimal as v2 writes it: a string with 4 decimal places."""
    return f"{Decimal(value):.4f}"


def parse_filter_date(raw: str) -> datetime:
    """Parse a date filter value: RFC-2822 or ISO-8601 with an explicit offset, as documented.

    How BigCommerce reads a value without an offset is unverified (reference §4.1, §10), so
    the sandbox takes the stricter reading and refuses it, as it refuses the undocumented
    Unix timestamps: a client that passes here sends what the docs describe.

    Raises:
        ValueError: the value is in neither format or has no offset.
    """
    text = raw.strip()
    if not text:
        raise ValueError("empty date")
    if _MANGLED_OFFSET.search(text):
        raise ValueError(f"offset lost its sign (unencoded '+'?): {raw!r}")
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            parsed = None
    if parsed is None:
        raise ValueError(f"not an RFC-2822 or ISO-8601 date: {raw!r}")
    if parsed.tzinfo is None:
        raise ValueError(f"date filter without an offset: {raw!r}")
    return parsed
