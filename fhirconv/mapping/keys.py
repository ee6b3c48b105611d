"""Business identifiers that key every resource of a study: NCT IDs, organisations, sites, groups."""

from __future__ import annotations

import re
from urllib.parse import quote

from fhirconv.model.study import Location, Study

# The NCT number's identifier system, as HL7 itself writes it in the FHIR R5 example
# "ResearchStudy/example-ctgov-study-record" (identifier.system "https://clinicaltrials.gov", use official;
# https://hl7.org/fhir/R5/researchstudy-example-ctgov-study-record.json.html). HL7 Terminology's NamingSystem
# for ClinicalTrials.gov (https://terminology.hl7.org/NamingSystem-ClinicalTrials-Gov.html) describes it.
CTGOV_SYSTEM = "https://clinicaltrials.gov"

# fhirconv's own identifier namespace, for things that have no registry-assigned identifier.
# All systems below are documented in mappings/README.md.
SID_BASE = "https://fhirconv.dev/fhir/sid"
# Study ids that are not NCT numbers (e.g. a CDISC STUDYID when no registry record is given).
LOCAL_STUDY_SYSTEM = f"{SID_BASE}/study-id"
# Organisations (sponsors, collaborators) by their name as the registry spells it: the registry gives
# organisations no identifier, and the same sponsor across studies must be one resource.
ORGANIZATION_SYSTEM = f"{SID_BASE}/organization-name"
# Study sites, per study: the same facility has per-study contacts and recruitment status.
SITE_SYSTEM = f"{SID_BASE}/ctgov-site"
# The eligibility / enrolment Group of a study.
GROUP_SYSTEM = f"{SID_BASE}/ctgov-eligibility"
# A study's Provenance. Provenance has no identifier element: this key only names it (its deterministic id).
PROVENANCE_SYSTEM = f"{SID_BASE}/study-provenance"

NCT_RE = re.compile(r"NCT[0-9]{8}")


def study_key(study_id: str) -> tuple[str, str]:
    """(system, value) of a study: NCT numbers in the ClinicalTrials.gov system, anything else (a sponsor's
    own study id) in fhirconv's local study system."""
    text = study_id.strip()
    if NCT_RE.fullmatch(text.upper()):
        return CTGOV_SYSTEM, text.upper()
    return LOCAL_STUDY_SYSTEM, text


def arm_link_ids(study: Study) -> dict[str, str]:
    """Each arm label → its R5 comparisonGroup linkId: arm-1, arm-2, … in record order (first wins for a
    label given twice)."""
    out: dict[str, str] = {}
    for i, arm in enumerate(study.arm_groups, start=1):
        out.setdefault(arm.label, f"arm-{i}")
    return out


def organization_key(name: str) -> tuple[str, str]:
    return ORGANIZATION_SYSTEM, " ".join(name.split())


def site_value(nct_id: str, loc: Location) -> str:
    """A site's value: the study and the facility's name and address, which stay put when the registry
    record gains or loses other sites (an index would shift). Empty parts are left out."""
    parts = [p.strip() for p in (loc.facility, loc.city, loc.state, loc.zip, loc.country) if p and p.strip()]
    return f"{nct_id}/{', '.join(parts)}"


def site_keys(study: Study) -> list[tuple[str, str]]:
    """(system, value) per location in record order; a repeated facility/address gets '#2', '#3', …"""
    seen: dict[str, int] = {}
    keys: list[tuple[str, str]] = []
    for loc in study.locations:
        value = site_value(study.nct_id, loc)
        n = seen.get(value, 0) + 1
        seen[value] = n
        keys.append((SITE_SYSTEM, value if n == 1 else f"{value}#{n}"))
    return keys


def group_key(study_id: str) -> tuple[str, str]:
    system, value = study_key(study_id)
    if system == CTGOV_SYSTEM:
        return GROUP_SYSTEM, value
    return GROUP_SYSTEM, f"{quote(system, safe='')}/{value}"


def provenance_key(study_id: str) -> tuple[str, str]:
    """The key of a study's Provenance: one per study, so the study's own key."""
    system, value = study_key(study_id)
    if system == CTGOV_SYSTEM:
        return PROVENANCE_SYSTEM, value
    return PROVENANCE_SYSTEM, f"{quote(system, safe='')}/{value}"
