"""Eligible ages as one Range in one unit: HAPI's validator refuses rng-2 on bounds in different units."""

from __future__ import annotations

from typing import Any

import pytest

from fhirconv.mapping.study.common import age_range

UCUM = "http://unitsofmeasure.org"


def q(value: float, code: str, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        # the corpus's cases (NCT02028676: 3 Months to 17 Years; a BioMCP page record: 3 Months to 99 Years)
        (q(3, "mo", "month"), q(17, "a", "year"), ((3, "mo"), (204, "mo"))),
        (q(3, "mo", "month"), q(99, "a", "year"), ((3, "mo"), (1188, "mo"))),
        (q(28, "d", "day"), q(18, "a", "year"), ((28, "d"), (6574.5, "d"))),
        (q(6, "wk", "week"), q(2, "mo", "month"), ((42, "d"), (60.875, "d"))),  # 2 mo is no finite count of weeks
        (q(2, "wk", "week"), q(1, "d", "day"), ((14, "d"), (1, "d"))),  # converted, not judged: rng-2 then says
    ],
)
def test_bounds_in_different_units_share_the_finer_unit(
    low: dict[str, Any], high: dict[str, Any], expected: tuple[tuple[float, str], tuple[float, str]]
) -> None:
    rng = age_range(low, high)
    got = ((rng["low"]["value"], rng["low"]["code"]), (rng["high"]["value"], rng["high"]["code"]))
    assert got == expected
    assert rng["low"]["unit"] == rng["high"]["unit"]
    assert rng["low"]["system"] == rng["high"]["system"] == UCUM


def test_same_unit_and_open_ranges_are_kept_as_given() -> None:
    low, high = q(18, "a", "year"), q(65, "a", "year")
    assert age_range(low, high) == {"low": low, "high": high}
    assert age_range(None, q(17, "a", "year")) == {"high": q(17, "a", "year")}
    assert age_range(q(3, "mo", "month"), None) == {"low": q(3, "mo", "month")}
