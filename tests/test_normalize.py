"""Shared reader normalisation: registry dates, enums in v2 and prose form, phases, masking, ages, text."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fhirconv.errors import InputError
from fhirconv.model.study import Age
from fhirconv.readers.normalize import (
    ENUMS,
    clean_text,
    enum_value,
    enum_values,
    masking,
    parse_age,
    parse_bool,
    parse_date,
    parse_float,
    parse_int,
    phases,
    unescape_markdown,
)

SPEC_DIR = Path(__file__).parent / "data" / "ctgov-corpus" / "spec"

# kind → the schema name in the API v2 OpenAPI spec it must equal.
SPEC_SCHEMA = {
    "overall_status": "Status",
    "last_known_status": "Status",
    "phase": "Phase",
    "study_type": "StudyType",
    "allocation": "DesignAllocation",
    "intervention_model": "InterventionalAssignment",
    "primary_purpose": "PrimaryPurpose",
    "masking": "DesignMasking",
    "who_masked": "WhoMasked",
    "observational_model": "ObservationalModel",
    "time_perspective": "DesignTimePerspective",
    "sex": "Sex",
    "std_age": "StandardAge",
    "arm_type": "ArmGroupType",
    "intervention_type": "InterventionType",
    "official_role": "OfficialRole",
    "contact_role": "ContactRole",
    "recruitment_status": "RecruitmentStatus",
    "date_type": "DateType",
    "org_class": "AgencyClass",
    "secondary_id_type": "SecondaryIdType",
    "reference_type": "ReferenceType",
    "sampling_method": "SamplingMethod",
    "responsible_party_type": "ResponsiblePartyType",
    "enrollment_type": "EnrollmentType",
    "ipd_sharing": "IpdSharing",
    "ipd_info_type": "IpdSharingInfoType",
    "bio_spec_retention": "BioSpecRetention",
    "expanded_access_status": "ExpandedAccessStatus",
    "unposted_event_type": "UnpostedEventType",
    "violation_event_type": "ViolationEventType",
}


def _spec_enums() -> dict[str, set[str]]:
    union: dict[str, set[str]] = {}
    for path in sorted(SPEC_DIR.glob("*/ctg-oas-v2.yaml")):
        schemas = yaml.safe_load(path.read_text(encoding="utf-8"))["components"]["schemas"]
        for name in set(SPEC_SCHEMA.values()):
            union.setdefault(name, set()).update(schemas[name]["enum"])
    return union


def test_enum_table_is_the_api_v2_spec() -> None:
    spec = _spec_enums()
    assert len(list(SPEC_DIR.glob("*/ctg-oas-v2.yaml"))) == 2
    assert set(ENUMS) == set(SPEC_SCHEMA)
    for kind, schema in SPEC_SCHEMA.items():
        assert set(ENUMS[kind]) == spec[schema], kind


@pytest.mark.parametrize("kind", sorted(SPEC_SCHEMA))
def test_every_v2_value_maps_to_itself(kind: str) -> None:
    for value in ENUMS[kind]:
        assert enum_value(kind, value, field="f") == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-05", "2020-05"),
        ("2020-05-11", "2020-05-11"),
        ("May 11, 2020", "2020-05-11"),
        ("May 2020", "2020-05"),
        ("2020", "2020"),
        ("March 2005", "2005-03"),
        ("Sep 2001", "2001-09"),
        ("September 3, 2001", "2001-09-03"),
        ("Sept. 3, 2001", "2001-09-03"),
        ("december 31 2021", "2021-12-31"),
        ("  July 1, 2019 ", "2019-07-01"),
        ("2020-5-1", "2020-05-01"),
        ("12/2020", "2020-12"),
        ("2024-02-29", "2024-02-29"),
        (None, None),
        ("", None),
    ],
)
def test_parse_date(text: str | None, expected: str | None) -> None:
    assert parse_date(text, field="startDate") == expected


@pytest.mark.parametrize("text", ["soon", "Mayo 2020", "2021-02-30", "2020-13", "13/2020", "May 32, 2020", "20200511"])
def test_parse_date_garbage_names_the_field(text: str) -> None:
    with pytest.raises(InputError) as info:
        parse_date(text, field="statusModule.startDateStruct.date")
    assert info.value.field == "statusModule.startDateStruct.date"
    assert text in info.value.message


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        ("overall_status", "Active, not recruiting", "ACTIVE_NOT_RECRUITING"),
        ("overall_status", "Not yet recruiting", "NOT_YET_RECRUITING"),
        ("overall_status", "Unknown status", "UNKNOWN"),
        ("overall_status", "Enrolling by invitation", "ENROLLING_BY_INVITATION"),
        ("overall_status", "Withheld", "WITHHELD"),
        ("overall_status", "Approved for marketing", "APPROVED_FOR_MARKETING"),
        ("recruitment_status", "Active, not recruiting", "ACTIVE_NOT_RECRUITING"),
        ("phase", "Early Phase 1", "EARLY_PHASE1"),
        ("phase", "N/A", "NA"),
        ("phase", "Not Applicable", "NA"),
        ("phase", "Phase 3", "PHASE3"),
        ("study_type", "Expanded Access", "EXPANDED_ACCESS"),
        ("study_type", "Observational [Patient Registry]", "OBSERVATIONAL"),
        ("study_type", "N/A", None),
        ("allocation", "Non-Randomized", "NON_RANDOMIZED"),
        ("allocation", "N/A", "NA"),
        ("intervention_model", "Single Group Assignment", "SINGLE_GROUP"),
        ("intervention_model", "Parallel Assignment", "PARALLEL"),
        ("primary_purpose", "Supportive Care", "SUPPORTIVE_CARE"),
        ("primary_purpose", "Educational/Counseling/Training", "ECT"),
        ("masking", "None (Open Label)", "NONE"),
        ("masking", "Double Blind", "DOUBLE"),
        ("masking", "Open Label", "NONE"),
        ("masking", "Double (Participant, Investigator)", "DOUBLE"),
        ("who_masked", "Outcomes Assessor", "OUTCOMES_ASSESSOR"),
        ("who_masked", "Subject", "PARTICIPANT"),
        ("who_masked", "Caregiver", "CARE_PROVIDER"),
        ("observational_model", "Case-Control", "CASE_CONTROL"),
        ("observational_model", "Case Control", "CASE_CONTROL"),
        ("observational_model", "Ecologic or Community", "ECOLOGIC_OR_COMMUNITY"),
        ("time_perspective", "Cross-Sectional", "CROSS_SECTIONAL"),
        ("sex", "Both", "ALL"),
        ("sex", "Female", "FEMALE"),
        ("std_age", "Older Adult", "OLDER_ADULT"),
        ("arm_type", "Placebo Comparator", "PLACEBO_COMPARATOR"),
        ("intervention_type", "Dietary Supplement", "DIETARY_SUPPLEMENT"),
        ("intervention_type", "Diagnostic Test", "DIAGNOSTIC_TEST"),
        ("official_role", "Study Chair", "STUDY_CHAIR"),
        ("contact_role", "Sub-Investigator", "SUB_INVESTIGATOR"),
        ("date_type", "Anticipated", "ESTIMATED"),
        ("date_type", "Estimate", "ESTIMATED"),
        ("enrollment_type", "Anticipated", "ESTIMATED"),
        ("org_class", "U.S. Fed", "FED"),
        ("org_class", "Industry", "INDUSTRY"),
        ("secondary_id_type", "U.S. NIH Grant/Contract", "NIH"),
        ("secondary_id_type", "Other Grant/Funding Number", "OTHER_GRANT"),
        ("secondary_id_type", "EudraCT Number", "EUDRACT_NUMBER"),
        ("secondary_id_type", "Registry Identifier", "REGISTRY"),
        ("reference_type", "background", "BACKGROUND"),
        ("sampling_method", "Non-Probability Sample", "NON_PROBABILITY_SAMPLE"),
        ("responsible_party_type", "Sponsor-Investigator", "SPONSOR_INVESTIGATOR"),
        ("overall_status", None, None),
        ("overall_status", "  ", None),
    ],
)
def test_enum_value_prose(kind: str, text: str | None, expected: str | None) -> None:
    assert enum_value(kind, text, field="f") == expected
    assert enum_value(kind, text, field="f") == expected  # the memoised path answers the same


def test_unknown_enum_names_field_and_allowed_values() -> None:
    with pytest.raises(InputError) as info:
        enum_value("overall_status", "Paused for lunch", field="statusModule.overallStatus")
    err = info.value
    assert err.field == "statusModule.overallStatus"
    assert "Paused for lunch" in err.message
    assert err.hint is not None
    assert "ACTIVE_NOT_RECRUITING" in err.hint
    assert "WITHHELD" in err.hint


def test_na_is_rejected_where_the_vocabulary_has_no_other_meaning_for_it() -> None:
    # "Phase 5" is not a value; neither is a phase given to the sex field.
    with pytest.raises(InputError):
        enum_value("phase", "Phase 5", field="phase")
    with pytest.raises(InputError):
        enum_value("sex", "PHASE1", field="sex")


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown enum kind"):
        enum_value("colour", "RED", field="f")


def test_enum_values_keeps_order_and_drops_duplicates() -> None:
    assert enum_values("std_age", ["Adult", "OLDER_ADULT", "Adult"], field="f") == ["ADULT", "OLDER_ADULT"]
    assert enum_values("std_age", None, field="f") == []


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Phase 1/Phase 2", ["PHASE1", "PHASE2"]),
        ("Phase 2/Phase 3", ["PHASE2", "PHASE3"]),
        ("N/A", ["NA"]),
        ("Early Phase 1", ["EARLY_PHASE1"]),
        (["PHASE2", "PHASE3"], ["PHASE2", "PHASE3"]),
        (["Phase 1", "Phase 2"], ["PHASE1", "PHASE2"]),
        (["NA"], ["NA"]),
        ([], []),
        (None, []),
    ],
)
def test_phases(given: str | list[str] | None, expected: list[str]) -> None:
    assert phases(given, field="phase") == expected


def test_phases_unknown_names_field() -> None:
    with pytest.raises(InputError) as info:
        phases("Phase 1/Phase 9", field="designModule.phases")
    assert info.value.field == "designModule.phases"


@pytest.mark.parametrize(
    ("text", "level", "who"),
    [
        (
            "Quadruple (Participant, Care Provider, Investigator, Outcomes Assessor)",
            "QUADRUPLE",
            ["PARTICIPANT", "CARE_PROVIDER", "INVESTIGATOR", "OUTCOMES_ASSESSOR"],
        ),
        ("Single (Outcomes Assessor)", "SINGLE", ["OUTCOMES_ASSESSOR"]),
        ("None (Open Label)", "NONE", []),
        ("No masking", "NONE", []),
        ("Double Blind (Subject, Caregiver)", "DOUBLE", ["PARTICIPANT", "CARE_PROVIDER"]),
        ("DOUBLE", "DOUBLE", []),
        (None, None, []),
    ],
)
def test_masking(text: str | None, level: str | None, who: list[str]) -> None:
    assert masking(text, field="masking") == (level, who)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("18 Years", Age(18.0, "years", "18 Years")),
        ("6 Months", Age(6.0, "months", "6 Months")),
        ("1 Year", Age(1.0, "year", "1 Year")),
        ("28 Days", Age(28.0, "days", "28 Days")),
        ("2.5 years", Age(2.5, "years", "2.5 years")),
        ("N/A", None),
        ("None", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_age(text: str | None, expected: Age | None) -> None:
    assert parse_age(text, field="minimumAge") == expected


@pytest.mark.parametrize("text", ["eighteen", "18", "18 Parsecs", "Years 18"])
def test_parse_age_garbage(text: str) -> None:
    with pytest.raises(InputError) as info:
        parse_age(text, field="eligibilityModule.minimumAge")
    assert info.value.field == "eligibilityModule.minimumAge"


def test_numbers_and_booleans() -> None:
    assert parse_int("437", field="n") == 437
    assert parse_int(" 1,200 ", field="n") == 1200
    assert parse_int(5796, field="n") == 5796
    assert parse_int(None, field="n") is None
    assert parse_int("", field="n") is None
    for bad in ("many", "3.5", True):
        with pytest.raises(InputError) as info:
            parse_int(bad, field="enrollmentInfo.count")  # type: ignore[arg-type]
        assert info.value.field == "enrollmentInfo.count"
    assert parse_float("30.69436", field="lat") == pytest.approx(30.69436)
    assert parse_float(-88.04305, field="lon") == pytest.approx(-88.04305)
    with pytest.raises(InputError):
        parse_float("north", field="lat")
    assert parse_bool("Yes", field="b") is True
    assert parse_bool("No", field="b") is False
    assert parse_bool("true", field="b") is True
    assert parse_bool(False, field="b") is False
    assert parse_bool("Accepts Healthy Volunteers", field="b") is True
    assert parse_bool(None, field="b") is None
    with pytest.raises(InputError) as info:
        parse_bool("maybe", field="healthyVolunteers")
    assert info.value.field == "healthyVolunteers"


def test_clean_text() -> None:
    assert clean_text("  line one\r\nline two\rline three\n\n") == "line one\nline two\nline three"
    assert clean_text(" \r\n ") is None
    assert clean_text(None) is None


def test_unescape_markdown() -> None:
    assert unescape_markdown(r"age \>= 18 and \<= 65") == "age >= 18 and <= 65"
    assert unescape_markdown(r"moderate \[IGA=3\] \& severe, 5\*2, snake\_case") == (
        "moderate [IGA=3] & severe, 5*2, snake_case"
    )
    assert unescape_markdown(r"a literal \\ backslash") == "a literal \\ backslash"
    assert unescape_markdown(r"C:\path stays") == r"C:\path stays"  # not an escape: letters are not escaped
    assert unescape_markdown(None) is None
