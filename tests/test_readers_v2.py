"""API v2 JSON reader: real corpus records → Study, field by field; partial records; bad content."""

from __future__ import annotations

import copy
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from fhirconv.errors import InputError
from fhirconv.model.study import Age, DateInfo, Geo, Mesh, Org, SecondaryId, Study
from fhirconv.readers.ctgov_v2 import nct_id_of, read_v2_study

CORPUS = Path(__file__).parent / "data" / "ctgov-corpus"
V2_FILES = sorted(p for p in CORPUS.glob("*.json") if not p.name.endswith(".classic.json"))
PARTIAL_FILES = sorted((CORPUS / "partial").glob("*.json"))


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CORPUS / name).read_bytes())
    return data


def _read(name: str) -> Study:
    return read_v2_study(_load(name))


def _all_text(study: Study) -> list[str]:
    out: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(asdict(study))
    return out


def test_corpus_has_the_expected_files() -> None:
    assert len(V2_FILES) == 17
    assert len(PARTIAL_FILES) == 20


@pytest.mark.parametrize("path", V2_FILES + PARTIAL_FILES, ids=lambda p: p.name)
def test_every_v2_record_reads(path: Path) -> None:
    data = json.loads(path.read_bytes())
    study = read_v2_study(data)
    assert study.nct_id == path.name.split(".")[0]
    assert study.brief_title
    assert study.overall_status is not None
    assert study.partial is (path.parent.name == "partial")
    assert not any("\r" in t for t in _all_text(study))


def test_pallas_nct02513394_field_by_field() -> None:
    s = _read("NCT02513394.json")  # CRLF file, 437 sites, results posted
    assert s.nct_id == "NCT02513394"
    assert s.brief_title == "PALbociclib CoLlaborative Adjuvant Study"
    assert s.official_title is not None
    assert s.official_title.startswith("PALbociclib CoLlaborative Adjuvant Study: A Randomized Phase III Trial")
    assert s.acronym == "PALLAS"
    assert s.org_study_id == "AFT-05"
    assert s.organization == Org("Alliance Foundation Trials, LLC.", "OTHER")
    assert s.secondary_ids == [
        SecondaryId("ABCSG 42", "OTHER", "ABCSG GmbH"),
        SecondaryId("BIG 14-03", "OTHER", "Breast International Group"),
        SecondaryId("2014-005181-30", "EUDRACT_NUMBER"),
    ]
    assert s.overall_status == "ACTIVE_NOT_RECRUITING"
    assert s.status_verified_date == "2023-04"
    assert s.start_date == DateInfo("2015-08", None)
    assert s.primary_completion_date == DateInfo("2020-11", "ACTUAL")
    assert s.completion_date == DateInfo("2025-09", "ESTIMATED")
    assert s.first_submitted == "2015-07-29"
    assert s.first_posted == DateInfo("2015-07-31", "ESTIMATED")
    assert s.last_update_posted == DateInfo("2023-06-15", "ACTUAL")
    assert s.lead_sponsor == Org("Alliance Foundation Trials, LLC.", "OTHER")
    assert [c.name for c in s.collaborators] == [
        "Austrian Breast & Colorectal Cancer Study Group",
        "NSABP Foundation Inc",
        "PrECOG, LLC.",
        "Breast International Group",
        "Pfizer",
    ]
    assert s.collaborators[-1].cls == "INDUSTRY"
    assert s.responsible_party is not None
    assert s.responsible_party.type == "SPONSOR"

    d = s.design
    assert d.study_type == "INTERVENTIONAL"
    assert d.phases == ["PHASE3"]
    assert d.allocation == "RANDOMIZED"
    assert d.intervention_model == "PARALLEL"
    assert d.primary_purpose == "TREATMENT"
    assert d.masking == "NONE"
    assert d.enrollment is not None
    assert (d.enrollment.count, d.enrollment.type) == (5796, "ACTUAL")

    assert s.conditions == ["Breast Cancer"]
    assert s.keywords == ["HR+/HER2- breast cancer", "Palbociclib"]
    assert s.condition_meshes == [Mesh(term="Breast Neoplasms", id="D001943")]  # the record pads it: D000001943
    assert s.intervention_meshes == [Mesh(term="Palbociclib", id="C000500026")]
    assert [(a.label, a.type) for a in s.arm_groups] == [("Arm A", "EXPERIMENTAL"), ("Arm B", "OTHER")]
    assert s.arm_groups[0].intervention_names == ["Drug: Palbociclib", "Drug: Standard Adjuvant Endocrine Therapy"]
    assert [(i.name, i.type) for i in s.interventions] == [
        ("Palbociclib", "DRUG"),
        ("Standard Adjuvant Endocrine Therapy", "DRUG"),
    ]
    assert len(s.outcomes) == 5
    assert s.outcomes[0].kind == "primary"

    e = s.eligibility
    assert e.sex == "ALL"
    assert e.minimum_age == Age(18.0, "years", "18 Years")
    assert e.maximum_age is None
    assert e.std_ages == ["ADULT", "OLDER_ADULT"]
    assert e.healthy_volunteers is False
    assert e.criteria is not None
    assert e.criteria.startswith("Inclusion Criteria:\n\n* Signed informed consent")

    assert [o.name for o in s.officials][:2] == ["Suzanne George, MD", "Erica Mayer, MD"]
    assert {o.role for o in s.officials} == {"PRINCIPAL_INVESTIGATOR"}
    assert len(s.locations) == 437  # `locations` only; the file's non-API `locations_nested` copy is ignored
    first = s.locations[0]
    assert (first.facility, first.city, first.state, first.zip, first.country) == (
        "University of South Alabama Mitchell Cancer Institute",
        "Mobile",
        "Alabama",
        "36604",
        "United States",
    )
    assert first.geo == Geo(30.69436, -88.04305)
    assert s.locations[-1].country == "United Kingdom"
    assert len(s.references) == 4
    assert s.references[0].pmid == "34995105"
    assert s.references[0].type == "DERIVED"
    assert s.has_results is True
    assert s.partial is False


def test_withdrawn_record_keeps_why_stopped() -> None:
    s = _read("NCT00973089.json")
    assert s.overall_status == "WITHDRAWN"
    # The source has a trailing space; clean_text strips it.
    assert s.why_stopped == "recruiting or enrolling participants has halted prematurely and will not resume"
    assert s.design.enrollment is not None
    assert (s.design.enrollment.count, s.design.enrollment.type) == (0, "ACTUAL")
    assert s.has_results is False


def test_observational_record() -> None:
    s = _read("NCT03475563.json")
    assert s.design.study_type == "OBSERVATIONAL"
    assert s.design.phases == []
    assert s.design.observational_model == "CASE_ONLY"
    assert s.design.time_perspective == "PROSPECTIVE"
    assert s.design.patient_registry is True
    assert s.overall_status == "UNKNOWN"
    assert s.eligibility.sampling_method == "NON_PROBABILITY_SAMPLE"
    assert s.eligibility.study_population is not None
    assert s.eligibility.study_population.startswith("Patients with ischemic heart disease")


def test_partial_record_reads_what_is_there() -> None:
    s = _read("partial/NCT02576665.json")
    assert s.partial is True
    assert s.has_results is None  # not asked for, so unknown
    assert s.overall_status == "TERMINATED"
    assert s.start_date == DateInfo("2016-07", None)
    assert s.lead_sponsor == Org("Tocagen Inc.", None)
    assert s.official_title is None
    assert s.arm_groups == []
    assert s.condition_meshes == []
    assert [i.name for i in s.interventions] == ["Toca 511", "Toca FC"]
    assert s.interventions[0].other_names == ["vocimagene amiretrorepvec", "RRV", "retroviral replicating viral"]
    assert len(s.locations) == 3
    assert s.design.phases == ["PHASE1"]
    assert s.brief_summary is not None
    # v2 stores "\\[rHGG\\]"; the Study holds plain text.
    assert "(including recurrent high grade glioma [rHGG])" in s.brief_summary


def test_markdown_escapes_are_removed() -> None:
    raw = (CORPUS / "NCT02513394.json").read_text(encoding="utf-8")
    assert "\\\\>" in raw or "\\\\<" in raw  # the source does escape
    s = _read("NCT02513394.json")
    texts = _all_text(s)
    assert not any("\\>" in t or "\\<" in t or "\\[" in t for t in texts)


def test_text_line_endings_are_normalised() -> None:
    data = _load("NCT00973089.json")
    data["protocolSection"]["descriptionModule"]["briefSummary"] = "  First line.\r\nSecond line.\r\n"
    s = read_v2_study(data)
    assert s.brief_summary == "First line.\nSecond line."


def _broken(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(_load("NCT00973089.json"))
    for path, value in changes.items():
        node = data
        keys = path.split("__")
        for key in keys[:-1]:
            node = node[key]
        if value is None:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value
    return data


def test_missing_nct_id_names_the_field() -> None:
    data = _broken(protocolSection__identificationModule__nctId=None)
    assert nct_id_of(data) is None
    with pytest.raises(InputError) as info:
        read_v2_study(data)
    assert info.value.field == "identificationModule.nctId"
    assert "no NCT ID" in info.value.message


def test_malformed_nct_id() -> None:
    with pytest.raises(InputError, match="malformed NCT ID"):
        read_v2_study(_broken(protocolSection__identificationModule__nctId="NCT123"))


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("protocolSection__statusModule__overallStatus", "ON_HOLD", "statusModule.overallStatus"),
        ("protocolSection__designModule__phases", ["PHASE9"], "designModule.phases"),
        ("protocolSection__statusModule__startDateStruct", {"date": "sometime"}, "statusModule.startDateStruct.date"),
        ("protocolSection__eligibilityModule__minimumAge", "eighteen", "eligibilityModule.minimumAge"),
        ("protocolSection__designModule__enrollmentInfo", {"count": "lots"}, "designModule.enrollmentInfo.count"),
        ("protocolSection__conditionsModule__conditions", "Caries", "conditionsModule.conditions"),
        (
            "protocolSection__armsInterventionsModule__armGroups",
            [{"type": "EXPERIMENTAL"}],
            "armsInterventionsModule.armGroups[0].label",
        ),
        ("protocolSection__statusModule", ["not", "an", "object"], "statusModule"),
    ],
)
def test_bad_values_name_the_field(path: str, value: Any, field: str) -> None:
    with pytest.raises(InputError) as info:
        read_v2_study(_broken(**{path: value}))
    assert info.value.field == field


def test_not_a_study_object() -> None:
    with pytest.raises(InputError, match="expected a study object"):
        read_v2_study(["NCT00973089"])


def test_numbers_where_text_is_expected_are_taken_as_text() -> None:
    data = _load("NCT00973089.json")
    data["protocolSection"]["identificationModule"]["orgStudyIdInfo"]["id"] = 4711
    data["protocolSection"]["conditionsModule"]["keywords"] = ["Primary tooth", 42, None]
    s = read_v2_study(data)
    assert s.org_study_id == "4711"
    assert s.keywords == ["Primary tooth", "42"]


@pytest.mark.parametrize(
    ("module", "key", "value", "field"),
    [
        ("identificationModule", "briefTitle", {"text": "x"}, "identificationModule.briefTitle"),
        ("conditionsModule", "keywords", ["ok", ["nested"]], "conditionsModule.keywords[1]"),
        ("contactsLocationsModule", "locations", ["Jerusalem"], "contactsLocationsModule.locations[0]"),
        ("eligibilityModule", "healthyVolunteers", "sometimes", "eligibilityModule.healthyVolunteers"),
    ],
)
def test_wrong_shapes_name_the_field(module: str, key: str, value: Any, field: str) -> None:
    data = _load("NCT00973089.json")
    data["protocolSection"][module][key] = value
    with pytest.raises(InputError) as info:
        read_v2_study(data)
    assert info.value.field == field
