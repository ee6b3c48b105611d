"""Classic ClinicalTrials.gov API JSON `ResultsSection` → the version-neutral Results (model.results).

The classic results section is API v2's `resultsSection` under other names: every list is wrapped as
{"XList": {"X": [...]}}, every field carries its object's name as a prefix ("FlowAchievementNumSubjects"),
values are text ("Yes", "12") and enums prose ("Standard Deviation"). The section is renamed to the v2 shape
by the tables below and read by the v2 results reader (readers.ctgov_v2_results), so one reader decides what
the registry's results mean and both formats give the same model. Field names in error messages are
therefore the v2 ones (`resultsSection.outcomeMeasuresModule.outcomeMeasures[2]...`), which name the same
field as the classic path (`ResultsSection.OutcomeMeasuresModule.OutcomeMeasureList.OutcomeMeasure[2]...`).
"""

from __future__ import annotations

import re
from typing import Any

from fhirconv.model.results import Results
from fhirconv.readers.ctgov_v2_results import read_v2_results
from fhirconv.readers.jsonaccess import JsonObj

__all__ = ["classic_to_v2_results", "read_classic_results"]

# Classic list item → (v2 list key, the prefix its own fields carry).
_ITEMS: dict[str, str] = {
    "FlowGroup": "groups", "FlowPeriod": "periods", "FlowMilestone": "milestones",
    "FlowAchievement": "achievements", "FlowDropWithdraw": "dropWithdraws", "FlowReason": "reasons",
    "BaselineGroup": "groups", "BaselineDenom": "denoms", "BaselineDenomCount": "counts",
    "BaselineMeasure": "measures", "BaselineMeasureDenom": "denoms", "BaselineMeasureDenomCount": "counts",
    "BaselineClass": "classes", "BaselineClassDenom": "denoms", "BaselineClassDenomCount": "counts",
    "BaselineCategory": "categories", "BaselineMeasurement": "measurements",
    "OutcomeMeasure": "outcomeMeasures", "OutcomeGroup": "groups", "OutcomeDenom": "denoms",
    "OutcomeDenomCount": "counts", "OutcomeClass": "classes", "OutcomeClassDenom": "denoms",
    "OutcomeClassDenomCount": "counts", "OutcomeCategory": "categories", "OutcomeMeasurement": "measurements",
    "OutcomeAnalysis": "analyses", "OutcomeAnalysisGroupId": "groupIds",
    "EventGroup": "eventGroups", "SeriousEvent": "seriousEvents", "SeriousEventStats": "stats",
    "OtherEvent": "otherEvents", "OtherEventStats": "stats",
}
# Classic object (not a list) → (v2 key, its fields' prefix).
_OBJECTS: dict[str, tuple[str, str]] = {
    "ParticipantFlowModule": ("participantFlowModule", "Flow"),
    "BaselineCharacteristicsModule": ("baselineCharacteristicsModule", "Baseline"),
    "OutcomeMeasuresModule": ("outcomeMeasuresModule", "OutcomeMeasures"),
    "AdverseEventsModule": ("adverseEventsModule", "Events"),
    "MoreInfoModule": ("moreInfoModule", "MoreInfo"),
    "CertainAgreement": ("certainAgreement", "Agreement"),
    "PointOfContact": ("pointOfContact", "PointOfContact"),
    "LimitationsAndCaveats": ("limitationsAndCaveats", "LimitationsAndCaveats"),
}
# Field names whose v2 spelling the general rule (leading capitals lowered) does not give.
_FIELDS = {"EMail": "email", "PhoneExt": "phoneExt"}
_LEADING_CAPS = re.compile(r"^[A-Z]+(?=[A-Z][a-z]|$)|^[A-Z]")


def _v2_name(classic: str, prefix: str) -> str:
    """'FlowAchievementNumSubjects' with prefix 'FlowAchievement' → 'numSubjects'; 'CIPctValue' → 'ciPctValue'."""
    name = classic[len(prefix):] if classic.startswith(prefix) and len(classic) > len(prefix) else classic
    if name in _FIELDS:
        return _FIELDS[name]
    return _LEADING_CAPS.sub(lambda m: m[0].lower(), name, count=1)


def _convert(node: JsonObj, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.endswith("List") and isinstance(value, dict) and len(value) == 1:
            ((item, items),) = value.items()
            if item in _ITEMS:
                rows = items if isinstance(items, list) else [items]
                out[_ITEMS[item]] = [_convert(r, item) if isinstance(r, dict) else r for r in rows]
                continue
        if key in _OBJECTS and isinstance(value, dict):
            v2_key, child_prefix = _OBJECTS[key]
            out[v2_key] = _convert(value, child_prefix)
            continue
        out[_v2_name(key, prefix)] = value
    return out


def classic_to_v2_results(section: JsonObj) -> dict[str, Any]:
    """A classic `ResultsSection` in the shape (and key names) of v2's `resultsSection`."""
    return _convert(section, "")


def read_classic_results(study_obj: JsonObj) -> Results | None:
    """The classic study's results, or None when it has no `ResultsSection`."""
    section = study_obj.get("ResultsSection")
    if not isinstance(section, dict):
        return None
    return read_v2_results({"resultsSection": classic_to_v2_results(section)})
