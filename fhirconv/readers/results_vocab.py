"""The registry's results vocabularies: prose of older formats → API v2 enum values, free text kept."""

from __future__ import annotations

import re

from fhirconv.readers.normalize import clean_text

# API v2 enums of the results section (ClinicalTrials.gov data model, "Enum Types"), with the prose
# forms legacy XML, the classic API and older v2 records use. A value outside the table is not refused:
# the registry has added values over the years and older records carry free text here, so it is kept as
# typed (cleaned) and the mapping shows it as text.
_V2: dict[str, tuple[str, ...]] = {
    "outcome_type": ("PRIMARY", "SECONDARY", "OTHER_PRE_SPECIFIED", "POST_HOC"),
    "param_type": ("GEOMETRIC_MEAN", "GEOMETRIC_LEAST_SQUARES_MEAN", "LEAST_SQUARES_MEAN", "LOG_MEAN", "MEAN",
                   "MEDIAN", "NUMBER", "COUNT_OF_PARTICIPANTS", "COUNT_OF_UNITS"),
    "dispersion_type": ("NA", "STANDARD_DEVIATION", "STANDARD_ERROR", "INTER_QUARTILE_RANGE", "FULL_RANGE",
                        "CONFIDENCE_80", "CONFIDENCE_90", "CONFIDENCE_95", "CONFIDENCE_975", "CONFIDENCE_99",
                        "CONFIDENCE_OTHER", "GEOMETRIC_COEFFICIENT"),
    "analysis_dispersion": ("STANDARD_DEVIATION", "STANDARD_ERROR_OF_MEAN"),
    "ci_sides": ("ONE_SIDED", "TWO_SIDED"),
    "non_inferiority": ("SUPERIORITY", "NON_INFERIORITY", "EQUIVALENCE", "OTHER", "NON_INFERIORITY_OR_EQUIVALENCE",
                        "SUPERIORITY_OR_OTHER", "NON_INFERIORITY_OR_EQUIVALENCE_LEGACY",
                        "SUPERIORITY_OR_OTHER_LEGACY"),
    "assessment_type": ("SYSTEMATIC_ASSESSMENT", "NON_SYSTEMATIC_ASSESSMENT"),
    "restriction_type": ("LTE60", "GT60", "OTHER"),
    "reporting_status": ("POSTED", "NOT_POSTED"),
}

_ALIASES: dict[str, dict[str, str]] = {
    "outcome_type": {"OTHER": "OTHER_PRE_SPECIFIED"},
    "dispersion_type": {
        "NOT_APPLICABLE": "NA",
        "STANDARD_ERROR_OF_THE_MEAN": "STANDARD_ERROR",
        "80_CONFIDENCE_INTERVAL": "CONFIDENCE_80",
        "90_CONFIDENCE_INTERVAL": "CONFIDENCE_90",
        "95_CONFIDENCE_INTERVAL": "CONFIDENCE_95",
        "97_5_CONFIDENCE_INTERVAL": "CONFIDENCE_975",
        "99_CONFIDENCE_INTERVAL": "CONFIDENCE_99",
        "OTHER_CONFIDENCE_INTERVAL_LEVEL": "CONFIDENCE_OTHER",
        "GEOMETRIC_COEFFICIENT_OF_VARIATION": "GEOMETRIC_COEFFICIENT",
    },
    "analysis_dispersion": {"STANDARD_ERROR_OF_THE_MEAN": "STANDARD_ERROR_OF_MEAN"},
    "ci_sides": {"1_SIDED": "ONE_SIDED", "2_SIDED": "TWO_SIDED"},
    "non_inferiority": {"NON_INFERIORITY_OR_EQUIVALENCE_LEGACY": "NON_INFERIORITY_OR_EQUIVALENCE"},
    "assessment_type": {"SYSTEMATIC": "SYSTEMATIC_ASSESSMENT", "NON_SYSTEMATIC": "NON_SYSTEMATIC_ASSESSMENT"},
    "restriction_type": {"LESS_THAN_OR_EQUAL_TO_60_DAYS": "LTE60", "GREATER_THAN_60_DAYS": "GT60"},
}

_NON_WORD = re.compile(r"[^A-Z0-9]+")


def result_enum(kind: str, text: str | None) -> str | None:
    """A results enum in v2 vocabulary; prose of older formats normalised; unknown text kept as typed."""
    typed = clean_text(text)
    if typed is None:
        return None
    allowed = _V2[kind]  # a KeyError is a bug in the caller, not input
    snake = _NON_WORD.sub("_", typed.upper()).strip("_")
    if snake in allowed:
        return snake
    return _ALIASES.get(kind, {}).get(snake, typed)
