"""Weights from a store's `weight_units` to grams (Royal Mail needs grams)."""

from __future__ import annotations

import re
from decimal import Decimal

_GRAM = Decimal(1)
_KILOGRAM = Decimal(1000)
_OUNCE = Decimal("28.349523125")
_POUND = Decimal("453.59237")

# Exact factors. BigCommerce documents Ounces, Pounds, Grams and Kilograms (the full value set is
# unverified, reference §6); singulars, abbreviations and other casings are unambiguous spellings of
# the same units, so they are read too. "gr" (grains?) and "st" (stones) are deliberately absent.
GRAMS_PER_UNIT: dict[str, Decimal] = {
    **dict.fromkeys(("g", "gm", "gms", "gram", "grams", "gramme", "grammes"), _GRAM),
    **dict.fromkeys(
        ("kg", "kgs", "kilo", "kilos", "kilogram", "kilograms", "kilogramme", "kilogrammes"), _KILOGRAM
    ),
    **dict.fromkeys(("oz", "ozs", "ounce", "ounces"), _OUNCE),
    **dict.fromkeys(("lb", "lbs", "pound", "pounds"), _POUND),
}


class UnknownWeightUnitError(ValueError):
    """The store's weight unit is not one we can convert: the order is skipped, never guessed."""


def normalise_unit(weight_units: str | None) -> str:
    """The unit as a lookup key: lower case, no dots or spaces ("Lbs." -> "lbs", "Pounds (lb)" -> "pounds")."""
    text = (weight_units or "").strip().lower()
    text = re.sub(r"\(.*?\)", " ", text).replace(".", " ")
    words = text.split()
    return words[0] if words else ""


def is_missing(weight_units: str | None) -> bool:
    """True when the store reports no unit at all (absent, null or blank)."""
    return not normalise_unit(weight_units)


def is_supported(weight_units: str | None) -> bool:
    """True for a unit we convert, and for a missing one (weights then go out as 0: unknown)."""
    key = normalise_unit(weight_units)
    return not key or key in GRAMS_PER_UNIT


def grams_per_unit(weight_units: str | None) -> Decimal:
    """Grams in one of the store's weight units.

    Raises:
        UnknownWeightUnitError: the unit is missing or not recognised.
    """
    factor = GRAMS_PER_UNIT.get(normalise_unit(weight_units))
    if factor is None:
        raise UnknownWeightUnitError(f"unsupported store weight unit {weight_units!r}")
    return factor
