"""Weight conversion from the store's unit to grams."""

from __future__ import annotations

from decimal import Decimal

import pytest
from order_poller.units import UnknownWeightUnitError, grams_per_unit, is_missing, is_supported


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
    assert Decimal(weight) * grams_per_unit(unit) == Decimal(grams)


@pytest.mark.parametrize(
    ("unit", "factor"),
    [
        ("LBS", "453.59237"),
        ("lbs", "453.59237"),
        ("Lbs.", "453.59237"),
        ("lb", "453.59237"),
        ("Pound", "453.59237"),
        ("Pounds (lbs)", "453.59237"),
        ("OZ", "28.349523125"),
        ("oz", "28.349523125"),
        ("Ounce", "28.349523125"),
        ("kg", "1000"),
        ("KG", "1000"),
        ("Kilogram", "1000"),
        ("g", "1"),
        ("G", "1"),
        ("gram", "1"),
        ("Grammes", "1"),
    ],
)
def test_common_spellings_and_casings_of_each_unit_are_read(unit: str, factor: str) -> None:
    assert grams_per_unit(unit) == Decimal(factor)
    assert is_supported(unit)
    assert not is_missing(unit)


@pytest.mark.parametrize("unit", ["Stones", "", None, "tonnes", "gr", "st"])
def test_unknown_unit_is_refused_not_guessed(unit: str | None) -> None:
    with pytest.raises(UnknownWeightUnitError, match="unsupported store weight unit"):
        grams_per_unit(unit)


@pytest.mark.parametrize(
    ("unit", "missing", "supported"),
    [("", True, True), (None, True, True), ("  ", True, True), ("Stones", False, False)],
)
def test_a_missing_unit_is_told_apart_from_an_unknown_one(
    unit: str | None, missing: bool, supported: bool
) -> None:
    assert is_missing(unit) is missing
    assert is_supported(unit) is supported
