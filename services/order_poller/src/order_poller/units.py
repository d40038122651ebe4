"""Weights from a store's `weight_units` to grams (Royal Mail needs grams)."""

from __future__ import annotations

from decimal import Decimal

# Exact factors. BigCommerce documents Ounces, Pounds, Grams and Kilograms (the full value set is
# unverified, reference §6); the abbreviations are unambiguous spellings of the same units.
GRAMS_PER_UNIT: dict[str, Decimal] = {
    "grams": Decimal(1),
    "g": Decimal(1),
    "kilograms": Decimal(1000),
    "kg": Decimal(1000),
    "kgs": Decimal(1000),
    "ounces": Decimal("28.349523125"),
    "oz": Decimal("28.349523125"),
    "pounds": Decimal("453.59237"),
    "lb": Decimal("453.59237"),
    "lbs": Decimal("453.59237"),
}


class UnknownWeightUnitError(ValueError):
    """The store's weight unit is not one we can convert: the order is skipped, never guessed."""


def grams_per_unit(weight_units: str | None) -> Decimal:
    """Grams in one of the store's weight units.

    Raises:
        UnknownWeightUnitError: the unit is missing or not recognised.
    """
    factor = GRAMS_PER_UNIT.get((weight_units or "").strip().lower())
    if factor is None:
        raise UnknownWeightUnitError(f"unsupported store weight unit {weight_units!r}")
    return factor


def to_grams(weight: Decimal, weight_units: str | None) -> Decimal:
    """`weight` in the store's unit, in grams (unrounded; the event rounds to 2 places)."""
    return weight * grams_per_unit(weight_units)
