"""Numbers as the source meant them: every number read from a participant table (XPT, CSV,
Dataset-JSON) goes through `as_meant`, so one rule decides how it is written."""

from __future__ import annotations

__all__ = ["SAS_DIGITS", "as_meant", "parse_number", "sas_round"]

# SAS keeps numbers as doubles and shows them at most at 15 significant digits (the precision a double
# holds for every decimal); a value stored as 2.1956 comes out of the IBM transport encoding, whose
# mantissa SAS truncates, as 2.1955999999999998, and CSV files exported from such doubles carry the same
# digits (0.049999999999999996). Rounded to 15 digits it is the number the source meant; the long form
# also fails HAPI R5's decimal pattern. A number of 15 digits or fewer is unchanged.
SAS_DIGITS = 15
_FORMAT = f".{SAS_DIGITS}g"


def as_meant(value: float, digits: int = SAS_DIGITS) -> float:
    """`value` rounded to `digits` significant digits (the nearest double to that decimal)."""
    return float(format(value, _FORMAT if digits == SAS_DIGITS else f".{digits}g"))


def parse_number(text: str) -> float:
    """A number written as text (CSV, a Dataset-JSON decimal), as the source meant it; ValueError when
    the text is not a number (as float() raises)."""
    return as_meant(float(text))


def sas_round(values: list[float | None], digits: int = SAS_DIGITS) -> list[float | None]:
    """Each number `as_meant`; None kept. Columns repeat values (lab results, visit numbers), so each
    distinct value is rounded once."""
    done: dict[float, float] = {}
    out: list[float | None] = []
    append = out.append
    for v in values:
        if v is None:
            append(None)
            continue
        r = done.get(v)
        if r is None:
            r = done[v] = as_meant(v, digits)
        append(r)
    return out
