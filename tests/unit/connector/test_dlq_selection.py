"""Choosing dead letters: durations, reasons, ages, and text that is safe to print."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from connector.dlq import DeadLetter, parse_duration, printable, selection

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), (" 2H ", 7200)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "h", "1 h", "-1h", "1.5h", "1w", "1h;rm"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def letter(reason: str, age: timedelta | None) -> DeadLetter:
    return DeadLetter(
        reason=reason,
        event_type="OrderDespatched",
        message_id="m",
        dead_lettered_at=None if age is None else NOW - age,
        redeliveries=0,
    )


def test_selection_by_reason_and_age() -> None:
    old_unknown = letter("unknown channel 1", timedelta(hours=3))
    new_unknown = letter("unknown channel 2", timedelta(minutes=5))
    ageless = letter("unknown channel 3", None)
    schema = letter("schema: order_id: Input should be greater than 0", timedelta(hours=3))
    matches = selection(reason="Unknown Channel", older_than=timedelta(hours=1), now=NOW)
    assert [matches(x) for x in (old_unknown, new_unknown, ageless, schema)] == [True, False, False, False]
    everything = selection(reason=None, older_than=None, now=NOW)
    assert all(everything(x) for x in (old_unknown, new_unknown, ageless, schema))


def test_printable_removes_control_characters_and_bounds_length() -> None:
    assert printable("a\x1b[31mb\nc\x00") == "a?[31mb?c?"
    assert printable(b"\xff") == "\ufffd"
    assert len(printable("x" * 1000)) == 200
