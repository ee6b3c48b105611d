"""Normalisation shared by all registry readers: dates, enums, ages, numbers, booleans and text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from fhirconv.errors import InputError, cut
from fhirconv.model.study import Age

__all__ = [
    "ENUMS",
    "clean_text",
    "enum_value",
    "enum_values",
    "masking",
    "parse_age",
    "parse_bool",
    "parse_date",
    "parse_float",
    "parse_int",
    "phases",
    "unescape_markdown",
]

# --- enumerations -----------------------------------------------------------------------------------
# Allowed values per kind: the `enum` lists of the ClinicalTrials.gov API v2 OpenAPI spec
# (ctg-oas-v2.yaml, components/schemas: Status, Phase, StudyType, DesignAllocation,
# InterventionalAssignment, PrimaryPurpose, DesignMasking, WhoMasked, ObservationalModel,
# DesignTimePerspective, Sex, StandardAge, ArmGroupType, InterventionType, OfficialRole, ContactRole,
# RecruitmentStatus, DateType, AgencyClass, SecondaryIdType, ReferenceType, SamplingMethod,
# ResponsiblePartyType, EnrollmentType, IpdSharing, IpdSharingInfoType, BioSpecRetention,
# ExpandedAccessStatus, UnpostedEventType, ViolationEventType); https://clinicaltrials.gov/data-api/api . Copies are in
# tests/data/ctgov-corpus/spec/*/ctg-oas-v2.yaml. SecondaryIdType "CTIS" appears only in the newer
# of the two copies; we accept the union.
ENUMS: dict[str, tuple[str, ...]] = {
    "overall_status": (
        "ACTIVE_NOT_RECRUITING", "COMPLETED", "ENROLLING_BY_INVITATION", "NOT_YET_RECRUITING",
        "RECRUITING", "SUSPENDED", "TERMINATED", "WITHDRAWN", "AVAILABLE", "NO_LONGER_AVAILABLE",
        "TEMPORARILY_NOT_AVAILABLE", "APPROVED_FOR_MARKETING", "WITHHELD", "UNKNOWN",
    ),
    "phase": ("NA", "EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4"),
    "study_type": ("EXPANDED_ACCESS", "INTERVENTIONAL", "OBSERVATIONAL"),
    "allocation": ("RANDOMIZED", "NON_RANDOMIZED", "NA"),
    "intervention_model": ("SINGLE_GROUP", "PARALLEL", "CROSSOVER", "FACTORIAL", "SEQUENTIAL"),
    "primary_purpose": (
        "TREATMENT", "PREVENTION", "DIAGNOSTIC", "ECT", "SUPPORTIVE_CARE", "SCREENING",
        "HEALTH_SERVICES_RESEARCH", "BASIC_SCIENCE", "DEVICE_FEASIBILITY", "OTHER",
    ),
    "masking": ("NONE", "SINGLE", "DOUBLE", "TRIPLE", "QUADRUPLE"),
    "who_masked": ("PARTICIPANT", "CARE_PROVIDER", "INVESTIGATOR", "OUTCOMES_ASSESSOR"),
    "observational_model": (
        "COHORT", "CASE_CONTROL", "CASE_ONLY", "CASE_CROSSOVER", "ECOLOGIC_OR_COMMUNITY",
        "FAMILY_BASED", "DEFINED_POPULATION", "NATURAL_HISTORY", "OTHER",
    ),
    "time_perspective": ("RETROSPECTIVE", "PROSPECTIVE", "CROSS_SECTIONAL", "OTHER"),
    "sex": ("FEMALE", "MALE", "ALL"),
    "std_age": ("CHILD", "ADULT", "OLDER_ADULT"),
    "arm_type": (
        "EXPERIMENTAL", "ACTIVE_COMPARATOR", "PLACEBO_COMPARATOR", "SHAM_COMPARATOR",
        "NO_INTERVENTION", "OTHER",
    ),
    "intervention_type": (
        "BEHAVIORAL", "BIOLOGICAL", "COMBINATION_PRODUCT", "DEVICE", "DIAGNOSTIC_TEST",
        "DIETARY_SUPPLEMENT", "DRUG", "GENETIC", "PROCEDURE", "RADIATION", "OTHER",
    ),
    "official_role": ("STUDY_CHAIR", "STUDY_DIRECTOR", "PRINCIPAL_INVESTIGATOR", "SUB_INVESTIGATOR"),
    "contact_role": (
        "STUDY_CHAIR", "STUDY_DIRECTOR", "PRINCIPAL_INVESTIGATOR", "SUB_INVESTIGATOR", "CONTACT",
    ),
    "recruitment_status": (
        "ACTIVE_NOT_RECRUITING", "COMPLETED", "ENROLLING_BY_INVITATION", "NOT_YET_RECRUITING",
        "RECRUITING", "SUSPENDED", "TERMINATED", "WITHDRAWN", "AVAILABLE",
    ),
    "date_type": ("ACTUAL", "ESTIMATED"),
    "org_class": ("NIH", "FED", "OTHER_GOV", "INDIV", "INDUSTRY", "NETWORK", "AMBIG", "OTHER", "UNKNOWN"),
    "secondary_id_type": (
        "NIH", "FDA", "VA", "CDC", "AHRQ", "SAMHSA", "OTHER_GRANT", "EUDRACT_NUMBER", "CTIS",
        "REGISTRY", "OTHER",
    ),
    "reference_type": ("BACKGROUND", "RESULT", "DERIVED"),
    "sampling_method": ("PROBABILITY_SAMPLE", "NON_PROBABILITY_SAMPLE"),
    "responsible_party_type": ("SPONSOR", "PRINCIPAL_INVESTIGATOR", "SPONSOR_INVESTIGATOR"),
    "enrollment_type": ("ACTUAL", "ESTIMATED"),
    "ipd_sharing": ("YES", "NO", "UNDECIDED"),
    "ipd_info_type": ("STUDY_PROTOCOL", "SAP", "ICF", "CSR", "ANALYTIC_CODE"),
    "bio_spec_retention": ("NONE_RETAINED", "SAMPLES_WITH_DNA", "SAMPLES_WITHOUT_DNA"),
    "expanded_access_status": (
        "AVAILABLE", "NO_LONGER_AVAILABLE", "TEMPORARILY_NOT_AVAILABLE", "APPROVED_FOR_MARKETING",
    ),
    "unposted_event_type": ("RESET", "RELEASE", "UNRELEASE"),
    "violation_event_type": (
        "VIOLATION_IDENTIFIED", "CORRECTION_CONFIRMED", "PENALTY_IMPOSED", "ISSUES_IN_LETTER_ADDRESSED_CONFIRMED",
    ),
}
ENUMS["last_known_status"] = ENUMS["overall_status"]

# Prose spellings of older formats (legacy XML, classic API, the registry web page) whose upper-snake
# form is not the v2 value. Keys are already upper-snaked (see _snake). Per kind, then for all kinds.
_ALIASES: dict[str, dict[str, str]] = {
    "overall_status": {"UNKNOWN_STATUS": "UNKNOWN"},
    "phase": {
        "N_A": "NA", "NOT_APPLICABLE": "NA", "EARLY_PHASE_1": "EARLY_PHASE1", "PHASE_0": "EARLY_PHASE1",
        "PHASE_1": "PHASE1", "PHASE_2": "PHASE2", "PHASE_3": "PHASE3", "PHASE_4": "PHASE4",
    },
    "allocation": {"N_A": "NA", "NOT_APPLICABLE": "NA", "NON_RANDOMISED": "NON_RANDOMIZED"},
    "intervention_model": {
        "SINGLE_GROUP_ASSIGNMENT": "SINGLE_GROUP", "PARALLEL_ASSIGNMENT": "PARALLEL",
        "CROSSOVER_ASSIGNMENT": "CROSSOVER", "CROSS_OVER_ASSIGNMENT": "CROSSOVER",
        "FACTORIAL_ASSIGNMENT": "FACTORIAL", "SEQUENTIAL_ASSIGNMENT": "SEQUENTIAL",
    },
    "primary_purpose": {"EDUCATIONAL_COUNSELING_TRAINING": "ECT"},
    # Old XML (before 2017) says "Open Label", "Double Blind"; newer says "None (Open Label)".
    "masking": {
        "NONE_OPEN_LABEL": "NONE", "OPEN_LABEL": "NONE", "NO_MASKING": "NONE",
        "SINGLE_BLIND": "SINGLE", "DOUBLE_BLIND": "DOUBLE", "TRIPLE_BLIND": "TRIPLE",
        "QUADRUPLE_BLIND": "QUADRUPLE",
    },
    "who_masked": {"SUBJECT": "PARTICIPANT", "CAREGIVER": "CARE_PROVIDER"},
    "sex": {"BOTH": "ALL"},
    "std_age": {"OLDER_ADULTS": "OLDER_ADULT", "ADULTS": "ADULT", "CHILDREN": "CHILD"},
    "arm_type": {"ARM": "OTHER"},
    "date_type": {"ANTICIPATED": "ESTIMATED", "ESTIMATE": "ESTIMATED"},
    "enrollment_type": {"ANTICIPATED": "ESTIMATED", "ESTIMATE": "ESTIMATED"},
    # Classic API and page prose: "Statistical Analysis Plan (SAP)", "Informed Consent Form (ICF)", ...
    "ipd_info_type": {
        "STATISTICAL_ANALYSIS_PLAN_SAP": "SAP", "STATISTICAL_ANALYSIS_PLAN": "SAP",
        "INFORMED_CONSENT_FORM_ICF": "ICF", "INFORMED_CONSENT_FORM": "ICF",
        "CLINICAL_STUDY_REPORT_CSR": "CSR", "CLINICAL_STUDY_REPORT": "CSR",
    },
    "org_class": {
        "U_S_FED": "FED", "US_FED": "FED", "OTHER_U_S_FEDERAL_AGENCY": "FED", "INDIVIDUAL": "INDIV",
        "AMBIGUOUS": "AMBIG", "OTHER_GOVERNMENT": "OTHER_GOV",
    },
    "secondary_id_type": {
        "U_S_NIH_GRANT_CONTRACT": "NIH", "U_S_FDA_GRANT_CONTRACT": "FDA", "U_S_VA_GRANT_CONTRACT": "VA",
        "U_S_CDC_GRANT_CONTRACT": "CDC", "U_S_AHRQ_GRANT_CONTRACT": "AHRQ",
        "U_S_SAMHSA_GRANT_CONTRACT": "SAMHSA", "OTHER_GRANT_FUNDING_NUMBER": "OTHER_GRANT",
        "EUDRACT_NUMBER": "EUDRACT_NUMBER", "EU_CT_NUMBER": "CTIS", "CTIS_EU_CT_NUMBER": "CTIS",
        "REGISTRY_IDENTIFIER": "REGISTRY", "OTHER_IDENTIFIER": "OTHER",
    },
}
for _kind in ("last_known_status", "recruitment_status"):
    _ALIASES[_kind] = _ALIASES["overall_status"]
_ALIASES["official_role"] = {"SUBINVESTIGATOR": "SUB_INVESTIGATOR"}
_ALIASES["contact_role"] = _ALIASES["official_role"]

# "N/A" where the v2 vocabulary has no NA value means "not given": the field is simply absent.
_NOT_GIVEN = frozenset({"N_A", "NA", "NOT_APPLICABLE", "NONE_GIVEN", "NOT_PROVIDED"})

_SNAKE = re.compile(r"[^A-Z0-9]+")
_cache: dict[tuple[str, str], str | None] = {}


def _snake(text: str) -> str:
    return _SNAKE.sub("_", text.upper()).strip("_")


def enum_value(kind: str, text: str | None, *, field: str) -> str | None:
    """Map a v2 enum value or its prose form to the v2 value of `kind`; None stays None."""
    if text is None:
        return None
    # Real data repeats the same few strings: memoise the mapping (bounded by the vocabulary).
    key = (kind, text)
    hit = _cache.get(key, _cache)
    if hit is not _cache:
        return hit  # type: ignore[return-value]
    try:
        allowed = ENUMS[kind]
    except KeyError:
        raise ValueError(f"unknown enum kind {kind!r}") from None  # a bug in the caller, not input
    if not text.strip():
        return None
    snake = _snake(text)
    value: str | None
    if snake in allowed:
        value = snake
    elif snake in _ALIASES.get(kind, {}):
        value = _ALIASES[kind][snake]
    elif kind == "masking" and "(" in text:
        # Newer XML: "Double (Participant, Investigator)"; who is masked is read by masking().
        return enum_value(kind, text.split("(", 1)[0], field=field)
    elif kind == "study_type" and snake.startswith("OBSERVATIONAL"):
        value = "OBSERVATIONAL"  # "Observational [Patient Registry]"
    elif snake in _NOT_GIVEN and "NA" not in allowed:
        value = None
    else:
        raise InputError(
            f"unknown {kind.replace('_', ' ')} value {cut(text)}",
            field=field,
            hint="allowed: " + ", ".join(allowed),
        )
    if len(_cache) < 4096:
        _cache[key] = value
    return value


def enum_values(kind: str, items: Iterable[str] | None, *, field: str) -> list[str]:
    """enum_value over a list, dropping "not given" entries, keeping order, without duplicates."""
    out: list[str] = []
    for item in items or ():
        value = enum_value(kind, item, field=field)
        if value is not None and value not in out:
            out.append(value)
    return out


# Separators alone, parts stripped after: r"\s*[/,|]\s*" backtracks quadratically on a run of spaces.
_PHASE_SPLIT = re.compile(r"[/,|]")


def phases(text_or_list: str | Iterable[str] | None, *, field: str) -> list[str]:
    """'Phase 1/Phase 2' → ['PHASE1', 'PHASE2']; 'N/A' → ['NA']; a list of either is accepted."""
    if text_or_list is None:
        return []
    items = [text_or_list] if isinstance(text_or_list, str) else list(text_or_list)
    out: list[str] = []
    for item in items:
        stripped = item.strip()
        if _snake(stripped) in ("N_A", "NA", "NOT_APPLICABLE"):
            parts = ["NA"]
        else:
            parts = [p.strip() for p in _PHASE_SPLIT.split(stripped) if p.strip()]
        for part in parts:
            value = enum_value("phase", part, field=field)
            if value is not None and value not in out:
                out.append(value)
    return out


def masking(text: str | None, *, field: str) -> tuple[str | None, list[str]]:
    """'Double (Participant, Investigator)' → ('DOUBLE', ['PARTICIPANT', 'INVESTIGATOR'])."""
    if text is None:
        return None, []
    level, _, rest = text.partition("(")
    who: list[str] = []
    if rest:
        inner = rest.rsplit(")", 1)[0]
        if _snake(inner) in _ALIASES["masking"] or _snake(inner) == "OPEN_LABEL":
            return enum_value("masking", text, field=field), []
        who = enum_values("who_masked", [w.strip() for w in inner.split(",") if w.strip()], field=field)
    return enum_value("masking", level, field=field), who


# --- dates ------------------------------------------------------------------------------------------

_MONTHS = {
    name: i
    for i, names in enumerate(
        (
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
            ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
            ("october", "oct"), ("november", "nov"), ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_ISO = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
# The look-behinds keep a search from restarting inside a run of letters or digits (quadratic).
_PROSE = re.compile(r"(?<![A-Za-z])([A-Za-z]+)\.?\s+(?:(\d{1,2}),?\s+)?(\d{4})")  # "May 11, 2020", "Sep 2001"
_SLASH = re.compile(r"(\d{1,2})/(?:(\d{1,2})/)?(\d{4})")  # "12/2020", "05/11/2020" (US order)


def parse_date(text: str | None, *, field: str) -> str | None:
    """A registry date in any of its spellings → FHIR partial date 'YYYY[-MM[-DD]]'."""
    if text is None:
        return None
    t = text.strip()
    if not t:
        return None
    year = month = day = None
    if m := _ISO.fullmatch(t):
        year, month, day = m.group(1), m.group(2), m.group(3)
    elif m := _PROSE.fullmatch(t):
        month_no = _MONTHS.get(m.group(1).lower())
        if month_no is not None:
            year, month, day = m.group(3), str(month_no), m.group(2)
    elif m := _SLASH.fullmatch(t):
        year, month, day = m.group(3), m.group(1), m.group(2)
    if year is None:
        raise InputError(
            f"cannot read date {cut(text)}",
            field=field,
            hint="expected e.g. 2020-05-11, 2020-05, May 11, 2020 or May 2020",
        )
    try:
        # Check the calendar (no 2021-02-30, no month 13) while keeping the given precision.
        date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise InputError(f"no such date {cut(text)}", field=field, hint="check day and month") from None
    out = year
    if month:
        out += f"-{int(month):02d}"
        if day:
            out += f"-{int(day):02d}"
    return out


# --- numbers, ages, booleans --------------------------------------------------------------------------


def parse_int(text: str | int | None, *, field: str) -> int | None:
    """An integer given as a number or a string ('437', '1,200'); '' and None give None."""
    if text is None:
        return None
    if isinstance(text, bool):
        raise InputError(f"expected a whole number, got {cut(text)}", field=field)
    if isinstance(text, int):
        return text
    if isinstance(text, float) and text.is_integer():
        return int(text)
    if not isinstance(text, str):
        raise InputError(f"expected a whole number, got {type(text).__name__}", field=field)
    t = text.strip().replace(",", "")
    if not t:
        return None
    try:
        return int(t)
    except ValueError:
        raise InputError(f"expected a whole number, got {cut(text)}", field=field) from None


def parse_float(text: str | float | None, *, field: str) -> float | None:
    """A decimal given as a number or a string (geo coordinates)."""
    if text is None:
        return None
    if isinstance(text, bool):
        raise InputError(f"expected a number, got {cut(text)}", field=field)
    if isinstance(text, int | float):
        return float(text)
    if not isinstance(text, str):  # an object or a list where a number belongs (fuzzing found it)
        raise InputError(f"expected a number, got {type(text).__name__}", field=field)
    t = text.strip()
    if not t:
        return None
    try:
        return float(t)
    except ValueError:
        raise InputError(f"expected a number, got {cut(text)}", field=field) from None


_TRUE = frozenset({"yes", "true", "y", "1", "accepts healthy volunteers"})
_FALSE = frozenset({"no", "false", "n", "0"})


def parse_bool(text: str | bool | None, *, field: str) -> bool | None:
    """'Yes'/'No', 'true'/'false', JSON booleans; the classic API's 'Accepts Healthy Volunteers' is yes."""
    if text is None or isinstance(text, bool):
        return text
    t = str(text).strip().lower()
    if not t:
        return None
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise InputError(f"expected yes or no, got {cut(text)}", field=field)


_AGE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*([A-Za-z]+)")  # look-behind: see _PROSE
_AGE_UNITS = frozenset(
    {"year", "years", "month", "months", "week", "weeks", "day", "days", "hour", "hours", "minute", "minutes"}
)


def parse_age(text: str | None, *, field: str) -> Age | None:
    """'18 Years' → Age(18.0, 'years', '18 Years'); 'N/A', 'None' and '' mean no limit → None."""
    if text is None:
        return None
    t = text.strip()
    if not t or _snake(t) in ("N_A", "NA", "NONE", "NO_LIMIT", "N_A_NO_LIMIT"):
        return None
    m = _AGE.fullmatch(t)
    if m is None or m.group(2).lower() not in _AGE_UNITS:
        raise InputError(
            f"cannot read age {cut(text)}", field=field, hint="expected a number and a unit, e.g. 18 Years"
        )
    return Age(value=float(m.group(1)), unit=m.group(2).lower(), text=t)


# --- text ---------------------------------------------------------------------------------------------


NCT_ID = re.compile(r"NCT\d{8}")


def nct_id(value: str | None, *, field: str, hint: str | None = None) -> str:
    """The record's NCT ID, stripped; a missing or malformed one is an InputError naming the field."""
    nct = value.strip() if value else value
    if not nct:
        raise InputError(
            "record has no NCT ID",
            field=field,
            hint=hint or "every ClinicalTrials.gov record needs an NCT ID; is this a study record?",
        )
    if not NCT_ID.fullmatch(nct):
        raise InputError(
            f"malformed NCT ID {cut(nct)}",
            field=field,
            record=nct if len(nct) <= 20 else None,
            hint="an NCT ID is 'NCT' and 8 digits",
        )
    return nct


def clean_text(text: str | None) -> str | None:
    """CRLF/CR → LF, trailing spaces and surrounding blank lines removed; empty → None."""
    if text is None:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.strip()
    return text or None


# Characters CommonMark lets a backslash escape; API v2 stores text as markdown and escapes them.
_MD_ESCAPE = re.compile(r"\\([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")


def unescape_markdown(text: str | None) -> str | None:
    """Remove API v2's markdown backslash escapes ('\\>= 18' → '>= 18') so text reads as typed."""
    if text is None or "\\" not in text:
        return text
    return _MD_ESCAPE.sub(r"\1", text)


# MeSH descriptor UIs were six digits (D000001–D066xxx) until NLM began nine-digit ones (D000067xxx on).
# API v2 and the classic JSON zero-pad the old ones to nine digits (D000001943 for D001943), which is no
# MeSH UI at all; the real UI is the six-digit one. Nine-digit UIs at or above the boundary are kept.
_MESH_PADDED = re.compile(r"D000(\d{6})")
_MESH_NINE_DIGIT_START = 67000


def mesh_id(value: str | None) -> str | None:
    """The MeSH descriptor UI as NLM writes it: 'D000001943' → 'D001943'; 'D000068582' stays."""
    if value is None or not value.strip():
        return None
    uid = value.strip()
    padded = _MESH_PADDED.fullmatch(uid)
    if padded and int(padded.group(1)) < _MESH_NINE_DIGIT_START:
        return "D" + padded.group(1)
    return uid
