"""Text rules at the edges: what the API and events refuse, and what is dropped from BigCommerce's text.

PostgreSQL cannot store NUL; other control characters (tab and newline aside) have no place in a
name, a tracking number or a carrier either, so text Click & Drop sends with one is refused
naming the field. Text BigCommerce sends is passed on unchanged except NUL, which is removed
(CONTRACT §3): refusing it would block a merchant's order over one stray byte.
"""

from __future__ import annotations

import re
from typing import Any

# C0 and C1 controls and DEL, except tab (\x09) and newline (\x0a).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
CONTROL_CHARACTER_MESSAGE = "must not contain NUL or other control characters (tab and newline aside)"


def has_control_characters(text: str) -> bool:
    """Whether `text` holds NUL or another control character other than tab and newline."""
    return _CONTROL.search(text) is not None


def refuse_control_characters(value: Any) -> Any:
    """A pydantic before-validator: raw text with a control character is refused, anything else passes."""
    if isinstance(value, str) and has_control_characters(value):
        raise ValueError(CONTROL_CHARACTER_MESSAGE)
    return value


def without_nul(text: str) -> str:
    """`text` with every NUL character removed (PostgreSQL cannot store them)."""
    return text.replace("\x00", "")
