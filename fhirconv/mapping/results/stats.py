"""Registry numbers and statistic vocabularies → Evidence.statistic parts (quantities, types, estimates)."""

from __future__ import annotations

import math
import re
from typing import Any

# HL7 Terminology code systems bound (extensible) to R5 Evidence.statistic.statisticType, …attributeEstimate.type
# and Evidence.variableDefinition.variableRole; codes and displays from hl7.terminology 5.1.0 as HAPI loads it.
STATISTIC_TYPE = "http://terminology.hl7.org/CodeSystem/statistic-type"
ESTIMATE_TYPE = "http://terminology.hl7.org/CodeSystem/attribute-estimate-type"
VARIABLE_ROLE = "http://terminology.hl7.org/CodeSystem/variable-role"

# The registry's measure types (API v2 MeasureParam) → statistic-type. Geometric and least-squares means,
# log means and "Number" have no code of their own there: they are named in text, never coded as a plain mean.
_PARAM = {
    "MEAN": ("C53319", "Mean"),
    "MEDIAN": ("C28007", "Median"),
    "COUNT_OF_PARTICIPANTS": ("C25463", "Count"),
    "COUNT_OF_UNITS": ("C25463", "Count"),
}
PARAM_TEXT = {
    "MEAN": "Mean", "MEDIAN": "Median", "COUNT_OF_PARTICIPANTS": "Count of Participants",
    "COUNT_OF_UNITS": "Count of Units", "NUMBER": "Number", "GEOMETRIC_MEAN": "Geometric Mean",
    "GEOMETRIC_LEAST_SQUARES_MEAN": "Geometric Least Squares Mean", "LEAST_SQUARES_MEAN": "Least Squares Mean",
    "LOG_MEAN": "Log Mean",
}
# An analysis' estimate is free text; the registry's own pick-list entries with an exact statistic-type code.
_ESTIMATE = {
    "hazard ratio (hr)": ("C93150", "Hazard Ratio"),
    "hazard ratio, log": None,
    "odds ratio (or)": ("C16932", "Odds Ratio"),
    "risk ratio (rr)": ("C93152", "Relative Risk"),
    "risk difference (rd)": ("0000424", "Risk Difference"),
    "mean difference (final values)": ("0000457", "Mean Difference"),
    "mean difference (net)": ("0000457", "Mean Difference"),
    "median difference (final values)": ("absolute-MedianDiff", "Absolute Median Difference"),
    "median difference (net)": ("absolute-MedianDiff", "Absolute Median Difference"),
}
# Dispersion types (API v2 MeasureDispersionType and AnalysisDispersionType) → attribute-estimate-type, and
# whether the registry gives it as one number (spread) or as bounds (lower/upper limit).
_DISPERSION: dict[str, tuple[str | None, str, float | None]] = {
    "STANDARD_DEVIATION": ("C53322", "Standard deviation", None),
    "STANDARD_ERROR": ("0000037", "Standard error of the mean", None),
    "STANDARD_ERROR_OF_MEAN": ("0000037", "Standard error of the mean", None),
    "INTER_QUARTILE_RANGE": ("C53245", "Interquartile range", None),
    "FULL_RANGE": ("C38013", "Range", None),
    "CONFIDENCE_80": ("C53324", "Confidence interval", 0.8),
    "CONFIDENCE_90": ("C53324", "Confidence interval", 0.9),
    "CONFIDENCE_95": ("C53324", "Confidence interval", 0.95),
    "CONFIDENCE_975": ("C53324", "Confidence interval", 0.975),
    "CONFIDENCE_99": ("C53324", "Confidence interval", 0.99),
    "CONFIDENCE_OTHER": ("C53324", "Confidence interval", None),
    "GEOMETRIC_COEFFICIENT": (None, "Geometric coefficient of variation", None),
}

_INT = re.compile(r"[+-]?[0-9]{1,18}")
_DEC = re.compile(r"[+-]?(?:[0-9]{1,18}\.[0-9]{1,18}|\.[0-9]{1,18})(?:[eE][+-]?[0-9]{1,3})?"
                  r"|[+-]?[0-9]{1,18}[eE][+-]?[0-9]{1,3}")
# "<0.001", "≤ 0.05", ">100": a bound, which FHIR writes as Quantity.comparator.
_CMP = re.compile(r"(<=|>=|<|>|≤|≥)\s{0,3}(\S{1,40})")
_CMP_CODE = {"<": "<", ">": ">", "<=": "<=", ">=": ">=", "≤": "<=", "≥": ">="}


def number(text: str | None) -> int | float | None:
    """The registry's numeric text as a JSON number; None for text that is not one ("NA", "NX", "N/A")."""
    if text is None:
        return None
    t = text.strip().replace(",", "") if "," in text and "." not in text else text.strip()
    if _INT.fullmatch(t):
        return int(t)
    if _DEC.fullmatch(t):
        value = float(t)
        return value if math.isfinite(value) else None
    return None


def quantity(text: str | None, unit: str | None = None) -> dict[str, Any] | None:
    """{'value': …, 'comparator'?: …, 'unit'?: …}, or None when the text holds no number."""
    if text is None:
        return None
    out: dict[str, Any] = {}
    n = number(text)
    if n is None:
        m = _CMP.fullmatch(text.strip())
        if not m or (n := number(m.group(2))) is None:
            return None
        out["comparator"] = _CMP_CODE[m.group(1)]
    out = {"value": n, **out}
    if unit:
        out["unit"] = unit
    return out


UNSIGNED_MAX = 2**31 - 1  # FHIR unsignedInt


def unsigned(n: object) -> int | None:
    """A count FHIR can hold as unsignedInt (0 … 2^31-1), else None: a negative or absurd registry count is
    shown as the quantity only, never as a count element that would make the resource invalid."""
    return n if isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= UNSIGNED_MAX else None


def yes_no(label: str, flag: bool | None) -> str | None:
    return None if flag is None else f"{label}: {'yes' if flag else 'no'}"


def coded(system: str, code: str, display: str, text: str | None = None) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": text or display}


def param_type(param: str | None) -> dict[str, Any] | None:
    if not param:
        return None
    hit = _PARAM.get(param)
    label = PARAM_TEXT.get(param, param)
    return coded(STATISTIC_TYPE, hit[0], hit[1], label) if hit else {"text": label}


def estimate_type(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    hit = _ESTIMATE.get(text.strip().lower())
    return coded(STATISTIC_TYPE, hit[0], hit[1], text) if hit else {"text": text}


def role(code: str) -> dict[str, Any]:
    display = {"referenceExposure": "reference exposure", "measuredVariable": "measured variable"}.get(code, code)
    return {"coding": [{"system": VARIABLE_ROLE, "code": code, "display": display}]}


def _estimate_concept(dispersion: str) -> tuple[dict[str, Any], float | None]:
    hit = _DISPERSION.get(dispersion)
    if hit is None:
        return {"text": dispersion}, None
    code, display, level = hit
    return (coded(ESTIMATE_TYPE, code, display) if code else {"text": display}), level


def dispersion(kind: str | None, spread: str | None, lower: str | None, upper: str | None,
               unit: str | None) -> list[dict[str, Any]]:
    """attributeEstimate entries for a measurement's spread and its bounds (either, both or none)."""
    out: list[dict[str, Any]] = []
    concept, level = _estimate_concept(kind) if kind and kind != "NA" else ({"text": "Dispersion"}, None)
    spread_q = quantity(spread, unit)
    if spread_q is not None:
        out.append({"type": concept, "quantity": spread_q})
    elif spread:
        out.append({"description": f"{concept.get('text')}: {spread}"})
    bounds = {}
    for key, text in (("low", lower), ("high", upper)):
        q = quantity(text, unit)
        if q is not None and "comparator" not in q:  # Range bounds are SimpleQuantity: no comparator
            bounds[key] = q
    if bounds:
        entry: dict[str, Any] = {"type": concept}
        if level is not None:
            entry["level"] = level
        entry["range"] = bounds
        out.append(entry)
    odd = [t for t, key in ((lower, "low"), (upper, "high")) if t and key not in bounds]
    if odd:
        out.append({"description": f"{concept.get('text')} bounds as registered: {lower or '–'} to {upper or '–'}"})
    return out


def p_value(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    q = quantity(text)
    entry: dict[str, Any] = {"type": coded(ESTIMATE_TYPE, "C44185", "P-value")}
    if q is None:
        entry["description"] = f"P-value as registered: {text}"
    else:
        entry["quantity"] = q
    return entry


def ci_level(pct: str | None) -> float | None:
    n = number(pct)
    return round(n / 100, 6) if n is not None and 0 < n <= 100 else None
