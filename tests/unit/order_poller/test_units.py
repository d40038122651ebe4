"""Weight conversion from the store's unit to grams."""

from __future__ import annotations

from decimal import Decimal

import pytest
from order_poller.units import UnknownWeightUnitError, grams_per_unit, to_grams


@pytest.mark.parametrize(
    ("weight", "unit", "grams"),
    [
        ("500", "Grams", "500"),
        ("1.25", "Kilograms", "1250"),
        ("1", "Ounces", "28.349523125"),
        ("16", "Ounces", "453.59237"),
        ("2", "Pounds", "907.18474"),
        ("0.5", "pounds", "226.796185"),
        ("3", " KGS ", "3000"),
        ("0", "Ounces", "0"),
    ],
)
def test_converts_each_documented_unit_exactly(weight: str, unit: str, grams: str) -> None:
    assert to_grams(Decimal(weight), unit) == Decimal(grams)


@pytest.mark.parametrize("unit", ["Stones", "", None, "tonnes", "Ounce"])
def test_unknown_unit_is_refused_not_guessed(unit: str | None) -> None:
    with pytest.raises(UnknownWeightUnitError, match="unsupported store weight unit"):
        grams_per_unit(unit)
