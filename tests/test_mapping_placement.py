"""Registry fields placed in the FHIR element of their meaning (issue 11, 'placed wrongly'): one test each."""

from __future__ import annotations

from typing import Any

import pytest

from fhirconv.mapping import map_study, xver
from fhirconv.model.study import (
    Contact,
    DateInfo,
    Location,
    Mesh,
    Official,
    Org,
    Outcome,
    Reference,
    ResponsibleParty,
    Study,
    StudyRecord,
)
from fhirconv.readers.ctgov_xml import read_xml
from fhirconv.readers.normalize import mesh_id
from fhirconv.validation.structure import check_models
from fhirconv.versions import FhirVersion

R4, R5 = FhirVersion.R4, FhirVersion.R5
MESH = "https://www.nlm.nih.gov/mesh"


def _rs(study: Study, version: FhirVersion) -> dict[str, Any]:
    items = map_study(study, version)
    check_models(items, version)
    return next(i.resource for i in items if i.resource["resourceType"] == "ResearchStudy")


def _ext(rs: dict[str, Any], path: str) -> list[list[dict[str, Any]]]:
    return [e["extension"] for e in rs.get("extension", []) if e["url"] == xver.url(path)]


@pytest.mark.parametrize(("padded", "real"), [("D000001943", "D001943"), ("D000065609", "D065609"),
                                              ("D000068582", "D000068582"), ("D001943", "D001943"),
                                              (" D000009369 ", "D009369"), ("", None), (None, None)])
def test_mesh_ids_are_nlm_descriptor_uis(padded: str | None, real: str | None) -> None:
    # Six-digit UIs padded to nine are unpadded; genuine nine-digit UIs (D000067xxx on) stay as they are.
    assert mesh_id(padded) == real


def test_r4_officials_after_the_first_pi_are_parties_not_contacts() -> None:
    study = Study("NCT01234567", overall_status="RECRUITING", officials=[
        Official("Ann Lee", "PRINCIPAL_INVESTIGATOR", "Acme"), Official("Bob Roe", "PRINCIPAL_INVESTIGATOR"),
        Official("Cy Doe", "STUDY_DIRECTOR", "Beta Inc")])
    rs = _rs(study, R4)
    assert "contact" not in rs
    assert rs["principalInvestigator"] == {"display": "Ann Lee, Acme"}
    parties = _ext(rs, "ResearchStudy.associatedParty")
    assert [p[0] for p in parties] == [{"url": "name", "valueString": "Bob Roe"},
                                       {"url": "name", "valueString": "Cy Doe"}]
    assert parties[1][1]["valueCodeableConcept"]["text"] == "Study Director"
    assert parties[1][2] == {"url": "party", "valueReference": {"display": "Beta Inc"}}


@pytest.mark.parametrize("version", list(FhirVersion))
def test_reference_type_classifies_the_citation_not_labels_it(version: FhirVersion) -> None:
    study = Study("NCT01234567", overall_status="COMPLETED", references=[Reference("Doe. Results.", "1", "RESULT")])
    (art,) = _rs(study, version)["relatedArtifact"]
    assert "label" not in art
    kind = {"text": "Result"}
    if version is R5:
        assert art["classifier"] == [kind]
    else:
        assert art["extension"] == [{"url": xver.url("RelatedArtifact.classifier"), "valueCodeableConcept": kind}]


def test_r4_estimated_dates_are_not_plain_period_dates() -> None:
    study = Study("NCT01234567", overall_status="RECRUITING", start_date=DateInfo("2024-01", "ACTUAL"),
                  primary_completion_date=DateInfo("2026-05", "ESTIMATED"),
                  completion_date=DateInfo("2027-01-31", "ESTIMATED"))
    rs = _rs(study, R4)
    assert rs["period"] == {"start": "2024-01"}
    milestones = {p[0]["valueCodeableConcept"]["text"]: p[1:] for p in _ext(rs, "ResearchStudy.progressStatus")}
    assert milestones["Study start"] == [{"url": "actual", "valueBoolean": True},
                                         {"url": "period", "valuePeriod": {"start": "2024-01"}}]
    assert milestones["Primary completion"] == [{"url": "actual", "valueBoolean": False},
                                                {"url": "period", "valuePeriod": {"end": "2026-05"}}]
    assert milestones["Study completion"] == [{"url": "actual", "valueBoolean": False},
                                              {"url": "period", "valuePeriod": {"end": "2027-01-31"}}]


def test_r5_withdrawn_study_record_is_active_with_a_withdrawn_state() -> None:
    rs = _rs(Study("NCT01234567", overall_status="WITHDRAWN"), R5)
    # status is the record's publication state: the record of a withdrawn study is current, not retired.
    assert rs["status"] == "active"
    assert rs["progressStatus"][0]["state"]["coding"][0]["code"] == "withdrawn"


@pytest.mark.parametrize("version", list(FhirVersion))
def test_derived_mesh_terms_code_conditions_and_index_the_study(version: FhirVersion) -> None:
    study = Study("NCT01234567", overall_status="COMPLETED", conditions=["Breast Cancer", "breast neoplasms"],
                  condition_meshes=[Mesh("Breast Neoplasms", "D001943"), Mesh("Neoplasms", "D009369")],
                  intervention_meshes=[Mesh("Antineoplastic Agents", "D000970")])
    rs = _rs(study, version)
    assert rs["condition"] == [
        {"text": "Breast Cancer"},
        {"coding": [{"system": MESH, "code": "D001943", "display": "Breast Neoplasms"}], "text": "breast neoplasms"},
    ]
    assert rs["keyword"] == [
        {"coding": [{"system": MESH, "code": "D009369", "display": "Neoplasms"}], "text": "Neoplasms"},
        {"coding": [{"system": MESH, "code": "D000970", "display": "Antineoplastic Agents"}],
         "text": "Antineoplastic Agents"},
    ]


def test_legacy_xml_browse_terms_are_read_and_placed() -> None:
    xml = ("<clinical_study><id_info><nct_id>NCT00000001</nct_id></id_info><brief_title>T</brief_title>"
           "<overall_status>Completed</overall_status><condition>Depression</condition>"
           "<intervention><intervention_type>Drug</intervention_type><intervention_name>Sertraline"
           "</intervention_name></intervention>"
           "<condition_browse><mesh_term>Depression</mesh_term><mesh_term>Mood Disorders</mesh_term>"
           "</condition_browse><intervention_browse><mesh_term>Sertraline</mesh_term>"
           "<mesh_term>Serotonin Uptake Inhibitors</mesh_term></intervention_browse></clinical_study>")
    (item,) = list(read_xml(xml.encode(), "t.xml"))
    assert isinstance(item, StudyRecord)
    assert item.study.condition_meshes == [Mesh("Depression"), Mesh("Mood Disorders")]
    for version in FhirVersion:
        rs = _rs(item.study, version)
        # XML gives MeSH terms without their UIs: the words are kept, uncoded.
        assert rs["condition"] == [{"text": "Depression"}]
        assert rs["keyword"] == [{"text": "Mood Disorders"}, {"text": "Serotonin Uptake Inhibitors"}]


# --- R4 parity: what R5 has an element for is an extension of the cross-version shape in R4 -------------


def _parity_study() -> Study:
    return Study(
        "NCT01234567", brief_title="Aspirin for Headache", official_title="A Trial of Aspirin", acronym="ASPIRE",
        overall_status="RECRUITING", primary_completion_date=DateInfo("2026-05", "ESTIMATED"),
        lead_sponsor=Org("Acme Pharma", "INDUSTRY"), collaborators=[Org("NINDS", "NIH")],
        responsible_party=ResponsibleParty("PRINCIPAL_INVESTIGATOR", "Ann Lee", "Professor", "Acme University"),
        outcomes=[Outcome("primary", "Pain score", "VAS 0-100", "2 hours")],
        locations=[Location("Acme Hospital", None, "Boston", None, None, "United States",
                            [Contact("Dan Site", "CONTACT", "555-0200", None, "dan@example.org")])])


def test_r4_carries_labels_collaborators_responsible_investigator_and_outcome_descriptions() -> None:
    items = map_study(_parity_study(), R4)
    check_models(items, R4)
    rs = next(i.resource for i in items if i.resource["resourceType"] == "ResearchStudy")
    assert _ext(rs, "ResearchStudy.label") == [
        [{"url": "type", "valueCodeableConcept": {"text": "Official title"}},
         {"url": "value", "valueString": "A Trial of Aspirin"}],
        [{"url": "type", "valueCodeableConcept": {"text": "Acronym"}}, {"url": "value", "valueString": "ASPIRE"}]]
    parties = _ext(rs, "ResearchStudy.associatedParty")
    collaborator, investigator = parties
    assert collaborator[0] == {"url": "name", "valueString": "NINDS"}
    assert collaborator[1] == {"url": "role", "valueCodeableConcept": {"text": "Collaborator"}}
    assert collaborator[-1]["valueReference"]["display"] == "NINDS"
    # the collaborator's Organization is in the output, so the reference resolves
    orgs = [i.resource["name"] for i in items if i.resource["resourceType"] == "Organization"]
    assert orgs == ["Acme Pharma", "NINDS"]
    assert investigator[0] == {"url": "name", "valueString": "Ann Lee, Professor"}
    assert investigator[2] == {"url": "party", "valueReference": {"display": "Acme University"}}
    (measure,) = _ext(rs, "ResearchStudy.outcomeMeasure")
    assert measure[0] == {"url": "name", "valueString": "Pain score"}
    assert measure[2] == {"url": "description", "valueMarkdown": "VAS 0-100\n\nTime frame: 2 hours"}
    progress = {p[0]["valueCodeableConcept"]["text"]: p[1:] for p in _ext(rs, "ResearchStudy.progressStatus")}
    assert progress["Primary completion"] == [{"url": "actual", "valueBoolean": False},
                                              {"url": "period", "valuePeriod": {"end": "2026-05"}}]


def test_r4_site_contacts_keep_their_names() -> None:
    items = map_study(_parity_study(), R4)
    (loc,) = [i.resource for i in items if i.resource["resourceType"] == "Location"]
    assert loc["telecom"] == [{"system": "phone", "value": "555-0200"}, {"system": "email", "value": "dan@example.org"}]
    assert loc["extension"] == [{"url": xver.url("Location.contact"), "extension": [
        {"url": "purpose", "valueCodeableConcept": {"text": "Contact"}},
        {"url": "name", "valueHumanName": {"text": "Dan Site"}},
        {"url": "telecom", "valueContactPoint": {"system": "phone", "value": "555-0200"}},
        {"url": "telecom", "valueContactPoint": {"system": "email", "value": "dan@example.org"}}]}]
