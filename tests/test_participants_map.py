"""Participant mapping: concrete R4/R5 elements per resource type, and the bad inputs the mapping side owns."""

from __future__ import annotations

import pytest

from fhirconv.errors import InputError, UnmappedCodeError
from fhirconv.mapping.participants import r4 as map_r4
from fhirconv.mapping.participants import r5 as map_r5
from fhirconv.mapping.participants.common import SID_BASE, Context
from fhirconv.model.participants import AdverseEventRecord, Disposition, Measurement, Participant, SourceRef
from fhirconv.model.study import ArmGroup, Intervention, Study
from fhirconv.output.bundle import full_url
from fhirconv.versions import FhirVersion, model_class

SRC = SourceRef("lb.csv", 7)
STUDY = Study(
    nct_id="NCT04382547",
    arm_groups=[ArmGroup("mesenchymal stem cells"), ArmGroup("control")],
    interventions=[Intervention("Mesenchymal stem cells")],
)
PATIENT_SYSTEM = f"{SID_BASE}/NCT04382547/usubjid"


def ctx(tz: str | None = None, *, strict: bool = False) -> Context:
    return Context.for_study(STUDY, tz=tz, strict=strict)


def participant(**kw: object) -> Participant:
    base: dict[str, object] = {
        "subject_id": "NCT04382547-001",
        "source": SourceRef("dm.csv", 1),
        "sex": "F",
        "birth_date": "1971-03",
        "arm": "mesenchymal stem cells",
        "actual_arm": "control",
        "reference_start": "2020-04-02",
        "reference_end": "2020-04-23",
    }
    base.update(kw)
    return Participant(**base)  # type: ignore[arg-type]


def lab(**kw: object) -> Measurement:
    base: dict[str, object] = {
        "subject_id": "NCT04382547-001",
        "source": SRC,
        "domain": "LB",
        "test_code": "WBC",
        "test_name": "Leukocytes",
        "category": "HEMATOLOGY",
        "seq": 3,
        "std_text": "6.2",
        "std_value": 6.2,
        "std_unit": "10^9/L",
        "ref_low": 4.0,
        "ref_high": 10.0,
        "normal_indicator": "NORMAL",
        "date": "2020-04-09T08:15",
    }
    base.update(kw)
    return Measurement(**base)  # type: ignore[arg-type]


def adverse(**kw: object) -> AdverseEventRecord:
    base: dict[str, object] = {
        "subject_id": "NCT04382547-001",
        "source": SourceRef("ae.csv", 2),
        "term": "fever after infusion",
        "seq": 1,
        "decoded_term": "Pyrexia",
        "pt_code": "10037660",
        "start": "2020-04-03",
        "end": "2020-04-04",
        "serious": False,
        "severity": "MILD",
        "grade": 1,
        "relatedness": "POSSIBLE",
        "outcome": "RECOVERED/RESOLVED",
    }
    base.update(kw)
    return AdverseEventRecord(**base)  # type: ignore[arg-type]


def valid(resource: dict[str, object], version: FhirVersion) -> None:
    """Both layers: the fhir.resources model and the official FHIR JSON Schema."""
    from fhirconv.validation.schema import schema_findings

    model_class(version, str(resource["resourceType"])).model_validate(resource)
    assert [f for f in schema_findings(resource, version) if f.severity == "error"] == []


@pytest.mark.parametrize(("mod", "version"), [(map_r4, FhirVersion.R4), (map_r5, FhirVersion.R5)])
def test_patient(mod: object, version: FhirVersion) -> None:
    item = mod.map_patient(participant(death_date="2020-05-01"), ctx())  # type: ignore[attr-defined]
    r = item.resource
    assert r["identifier"] == [{"system": PATIENT_SYSTEM, "value": "NCT04382547-001"}]
    assert (item.system, item.value) == (PATIENT_SYSTEM, "NCT04382547-001")
    assert r["gender"] == "female"
    assert r["birthDate"] == "1971-03"
    assert r["deceasedDateTime"] == "2020-05-01"
    valid(r, version)


def test_research_subject_r4() -> None:
    dss = [
        Disposition("NCT04382547-001", SourceRef("ds.csv", 2), "COMPLETED", "DISPOSITION EVENT", "2020-04-23"),
        Disposition("NCT04382547-001", SourceRef("ds.csv", 1), "RANDOMIZED", "PROTOCOL MILESTONE", "2020-04-02"),
        Disposition("NCT04382547-001", SourceRef("ds.csv", 3), "FINAL LAB VISIT", "OTHER EVENT", "2020-04-30"),
    ]
    r = map_r4.map_research_subject(participant(), dss, ctx()).resource
    assert r["status"] == "off-study"  # the last DISPOSITION EVENT / milestone; OTHER EVENT ignored
    assert r["assignedArm"] == "mesenchymal stem cells"
    assert r["actualArm"] == "control"
    assert r["period"] == {"start": "2020-04-02", "end": "2020-04-23"}
    assert r["study"] == {"reference": full_url("ResearchStudy", "https://clinicaltrials.gov", "NCT04382547")}
    assert r["individual"] == {"reference": full_url("Patient", PATIENT_SYSTEM, "NCT04382547-001")}
    valid(r, FhirVersion.R4)


def test_research_subject_r5() -> None:
    dss = [
        Disposition(
            "NCT04382547-001", SourceRef("ds.csv", 1), "WITHDRAWAL BY SUBJECT", "DISPOSITION EVENT", "2020-04-10"
        )
    ]
    r = map_r5.map_research_subject(participant(), dss, ctx()).resource
    assert r["status"] == "active"
    assert r["assignedComparisonGroup"] == "arm-1"
    assert r["actualComparisonGroup"] == "arm-2"
    assert r["subject"] == {"reference": full_url("Patient", PATIENT_SYSTEM, "NCT04382547-001")}
    (progress,) = r["progress"]
    assert progress["subjectState"]["coding"][0]["code"] == "withdrawn"
    assert progress["startDate"] == "2020-04-10"
    assert progress["reason"]["text"] == "WITHDRAWAL BY SUBJECT"
    valid(r, FhirVersion.R5)


@pytest.mark.parametrize("mod", [map_r4, map_r5])
def test_screen_failure_has_no_arm_and_is_ineligible(mod: object) -> None:
    p = participant(arm="Screen Failure", actual_arm="Screen Failure", reference_start=None, reference_end=None)
    r = mod.map_research_subject(p, [], ctx()).resource  # type: ignore[attr-defined]
    assert "assignedArm" not in r
    assert "assignedComparisonGroup" not in r
    state = r["status"] if mod is map_r4 else r["progress"][0]["subjectState"]["coding"][0]["code"]
    assert state == "ineligible"


@pytest.mark.parametrize(("mod", "version"), [(map_r4, FhirVersion.R4), (map_r5, FhirVersion.R5)])
def test_lab_observation(mod: object, version: FhirVersion) -> None:
    r = mod.map_observation(lab(), ctx()).resource  # type: ignore[attr-defined]
    assert r["identifier"][0]["value"] == "NCT04382547-001/LB/3"
    assert r["code"]["coding"] == [
        {
            "system": "http://loinc.org",
            "code": "6690-2",
            "display": "Leukocytes [#/volume] in Blood by Automated count",
        },
        {"system": "http://www.cdisc.org/sdtm-ct/LBTESTCD", "code": "WBC", "display": "Leukocytes"},
    ]
    assert r["category"][0]["coding"][0]["code"] == "laboratory"
    assert r["category"][1] == {"text": "HEMATOLOGY"}
    assert r["valueQuantity"] == {
        "value": 6.2,
        "unit": "10^9/L",
        "system": "http://unitsofmeasure.org",
        "code": "10*9/L",
    }
    assert r["referenceRange"] == [
        {
            "low": {"value": 4, "unit": "10^9/L", "system": "http://unitsofmeasure.org", "code": "10*9/L"},
            "high": {"value": 10, "unit": "10^9/L", "system": "http://unitsofmeasure.org", "code": "10*9/L"},
        }
    ]
    assert r["interpretation"][0]["coding"][0]["code"] == "N"
    assert r["effectiveDateTime"] == "2020-04-09"  # no zone known: the time is dropped, not invented
    assert r["subject"] == {"reference": full_url("Patient", PATIENT_SYSTEM, "NCT04382547-001")}
    valid(r, version)


def test_time_kept_with_time_zone() -> None:
    r = map_r4.map_observation(lab(), ctx(tz="+08:00")).resource
    assert r["effectiveDateTime"] == "2020-04-09T08:15:00+08:00"
    valid(r, FhirVersion.R4)


def test_loinc_depends_on_unit() -> None:
    molar = map_r4.map_observation(lab(test_code="HGB", std_unit="mmol/L", std_value=8.1), ctx()).resource
    mass = map_r4.map_observation(lab(test_code="HGB", std_unit="g/L", std_value=130.0, seq=4), ctx()).resource
    assert molar["code"]["coding"][0]["code"] == "59260-0"
    assert mass["code"]["coding"][0]["code"] == "718-7"
    # A known test without a LOINC code for its unit keeps its SDTM coding alone.
    mch = map_r4.map_observation(lab(test_code="MCH", std_unit="fmol(Fe)", std_value=1.9, seq=5), ctx()).resource
    assert [c["system"] for c in mch["code"]["coding"]] == ["http://www.cdisc.org/sdtm-ct/LBTESTCD"]


@pytest.mark.parametrize(("mod", "version"), [(map_r4, FhirVersion.R4), (map_r5, FhirVersion.R5)])
def test_pcr_result_is_snomed_coded(mod: object, version: FhirVersion) -> None:
    m = lab(
        domain="MB",
        test_code="SARSCOV2",
        test_name="SARS-CoV-2",
        category=None,
        std_text="NEGATIVE",
        std_value=None,
        std_unit=None,
        ref_low=None,
        ref_high=None,
        normal_indicator=None,
        date="2020-04-23",
    )
    r = mod.map_observation(m, ctx()).resource  # type: ignore[attr-defined]
    assert r["valueCodeableConcept"] == {
        "coding": [{"system": "http://snomed.info/sct", "code": "260385009", "display": "Negative"}],
        "text": "NEGATIVE",
    }
    assert r["code"]["coding"][0]["code"] == "94500-6"
    valid(r, version)


def test_vital_sign_not_done_and_comparator() -> None:
    m = Measurement("NCT04382547-001", SRC, "VS", "OXYSAT", seq=9, status="NOT DONE", reason_not_done="DEVICE FAULT")
    r = map_r4.map_observation(m, ctx()).resource
    assert r["status"] == "cancelled"
    assert r["dataAbsentReason"]["coding"][0]["code"] == "not-performed"
    assert "valueQuantity" not in r
    assert r["category"][0]["coding"][0]["code"] == "vital-signs"
    assert r["note"] == [{"text": "Not done: DEVICE FAULT"}]
    valid(r, FhirVersion.R4)
    less = map_r4.map_observation(lab(test_code="BILI", std_value=None, std_text="<3.42", std_unit="umol/L"), ctx())
    assert less.resource["valueQuantity"]["comparator"] == "<"
    assert less.resource["valueQuantity"]["value"] == 3.42
    valid(less.resource, FhirVersion.R4)


def test_adverse_event_r4() -> None:
    r = map_r4.map_adverse_event(adverse(), ctx()).resource
    assert r["actuality"] == "actual"
    assert r["identifier"] == {"system": f"{SID_BASE}/NCT04382547/adverse-event", "value": "NCT04382547-001/1"}
    assert r["event"]["coding"] == [
        {"system": "http://terminology.hl7.org/CodeSystem/mdr", "code": "10037660", "display": "Pyrexia"}
    ]
    assert r["event"]["text"] == "fever after infusion"
    assert r["date"] == "2020-04-03"
    assert r["severity"]["coding"][0]["code"] == "mild"
    assert r["seriousness"]["coding"][0]["code"] == "Non-serious"  # 4.0.1 spells it so; R5 "non-serious"
    assert r["outcome"]["coding"][0]["code"] == "resolved"
    assert r["suspectEntity"][0]["causality"][0]["assessment"]["coding"][0]["code"] == "Possible"
    assert r["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "C41338"
    assert r["study"] == [{"reference": full_url("ResearchStudy", "https://clinicaltrials.gov", "NCT04382547")}]
    valid(r, FhirVersion.R4)


def test_adverse_event_r5() -> None:
    r = map_r5.map_adverse_event(
        adverse(grade=3, serious=True, outcome="NOT RECOVERED/NOT RESOLVED", end=None), ctx()
    ).resource
    assert r["status"] == "in-progress"
    assert r["actuality"] == "actual"
    assert r["code"]["coding"][0]["code"] == "10037660"
    assert r["occurrenceDateTime"] == "2020-04-03"
    urls = {e["url"]: e["valueCodeableConcept"]["coding"][0]["code"] for e in r["extension"]}
    assert urls == {
        "http://hl7.org/fhir/uv/ae-research-ig/StructureDefinition/ae-severity": "mild",
        "http://hl7.org/fhir/uv/ae-research-ig/StructureDefinition/ae-grade": "C41340",
    }
    assert r["seriousness"]["coding"][0]["code"] == "serious"
    assert r["outcome"][0]["coding"][0]["code"] == "ongoing"
    # R5 binds to terminology.hl7.org's code system, which spells it in lower case (4.0.1: "Possible").
    assert r["suspectEntity"][0]["causality"]["entityRelatedness"]["coding"][0]["code"] == "possible"
    valid(r, FhirVersion.R5)
    done = map_r5.map_adverse_event(adverse(), ctx()).resource
    assert done["status"] == "completed"
    assert done["occurrencePeriod"] == {"start": "2020-04-03", "end": "2020-04-04"}


def test_relatedness_none_is_text_only() -> None:
    r = map_r4.map_adverse_event(adverse(relatedness="NONE"), ctx()).resource
    assert r["suspectEntity"][0]["causality"][0]["assessment"] == {"text": "NONE"}


# --- bad input owned by the mapping side --------------------------------------------------------


def test_strict_unknown_unit_names_file_row_column() -> None:
    with pytest.raises(UnmappedCodeError) as info:
        map_r4.map_observation(lab(std_unit="furlongs"), ctx(strict=True))
    err = info.value
    assert (err.file, err.record, err.field) == ("lb.csv", "row 7", "LBSTRESU")
    assert "furlongs" in str(err)


def test_strict_unknown_test_code_names_file_row_column() -> None:
    with pytest.raises(UnmappedCodeError) as info:
        map_r5.map_observation(lab(test_code="NOSUCH"), ctx(strict=True))
    assert (info.value.file, info.value.record, info.value.field) == ("lb.csv", "row 7", "LBTESTCD")


@pytest.mark.parametrize("mod", [map_r4, map_r5])
def test_arm_not_in_study(mod: object) -> None:
    with pytest.raises(InputError) as info:
        mod.map_research_subject(participant(actual_arm="placebo"), [], ctx())  # type: ignore[attr-defined]
    err = info.value
    assert (err.file, err.record, err.field) == ("dm.csv", "row 1", "ACTARM")
    assert "placebo" in err.message
    assert "control" in err.message


def test_unparseable_date() -> None:
    with pytest.raises(InputError) as info:
        map_r4.map_observation(lab(date="09/04/2020"), ctx())
    assert info.value.field == "LBDTC"


def test_non_finite_number() -> None:
    with pytest.raises(InputError) as info:
        map_r4.map_observation(lab(std_value=float("nan")), ctx())
    assert info.value.field == "LBSTRESN"


@pytest.mark.parametrize("mod", [map_r4, map_r5])
def test_race_and_ethnicity_as_us_core_extensions(mod: object) -> None:
    p = participant(race="BLACK OR AFRICAN AMERICAN", ethnicity="HISPANIC OR LATINO")
    r = mod.map_patient(p, ctx()).resource  # type: ignore[attr-defined]
    race, ethnicity = r["extension"]
    assert race == {
        "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
        "extension": [
            {
                "url": "ombCategory",
                "valueCoding": {
                    "system": "urn:oid:2.16.840.1.113883.6.238",
                    "code": "2054-5",
                    "display": "Black or African American",
                },
            },
            {"url": "text", "valueString": "BLACK OR AFRICAN AMERICAN"},
        ],
    }
    assert ethnicity["url"].endswith("/us-core-ethnicity")
    assert ethnicity["extension"][0]["valueCoding"]["code"] == "2135-2"
    other = mod.map_patient(participant(race="MULTIPLE"), ctx()).resource  # type: ignore[attr-defined]
    assert other["extension"] == [  # no OMB category: the words only
        {
            "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
            "extension": [{"url": "text", "valueString": "MULTIPLE"}],
        }
    ]
    valid(r, FhirVersion.R4 if mod is map_r4 else FhirVersion.R5)
