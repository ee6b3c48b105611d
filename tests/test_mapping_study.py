"""Study → FHIR R4 / R5: concrete output per element, keys, determinism, model checks, reported codes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fhirconv.errors import InputError, UnmappedCodeError, ValidationFailed
from fhirconv.mapping import map_study, xver
from fhirconv.mapping.keys import (
    CTGOV_SYSTEM,
    GROUP_SYSTEM,
    LOCAL_STUDY_SYSTEM,
    ORGANIZATION_SYSTEM,
    SITE_SYSTEM,
    arm_link_ids,
    site_keys,
    study_key,
)
from fhirconv.model.study import (
    Age,
    ArmGroup,
    Contact,
    DateInfo,
    Design,
    Eligibility,
    Enrollment,
    Geo,
    Intervention,
    Link,
    Location,
    Mesh,
    Official,
    Org,
    Outcome,
    Reference,
    ResponsibleParty,
    SecondaryId,
    Study,
)
from fhirconv.output.bundle import Keyed, build_bundle, dumps, full_url
from fhirconv.validation.structure import check_models
from fhirconv.versions import FhirVersion

R4, R5 = FhirVersion.R4, FhirVersion.R5
MESH = "https://www.nlm.nih.gov/mesh"
SEVCO = "http://hl7.org/fhir/study-design"


def full_study() -> Study:
    """A study with every field the mapping reads filled in."""
    return Study(
        nct_id="NCT01234567",
        brief_title="Aspirin for Headache",
        official_title="A Randomized, Double-Blind Trial of Aspirin Versus Placebo for Tension Headache",
        acronym="ASPIRE",
        org_study_id="ASP-001",
        organization=Org("Acme University", "OTHER"),
        secondary_ids=[SecondaryId("2020-001234-11", "EUDRACT_NUMBER", "EudraCT"), SecondaryId("R01 NS000000", "NIH")],
        nct_id_aliases=["NCT00999999"],
        overall_status="TERMINATED",
        why_stopped="Sponsor decision",
        start_date=DateInfo("2020-01-15", "ACTUAL"),
        primary_completion_date=DateInfo("2021-06", "ACTUAL"),
        completion_date=DateInfo("2021-12-31", "ESTIMATED"),
        last_update_posted=DateInfo("2022-02-01", "ACTUAL"),
        lead_sponsor=Org("Acme Pharma", "INDUSTRY"),
        collaborators=[Org("National Institute of Neurological Disorders and Stroke (NINDS)", "NIH")],
        responsible_party=ResponsibleParty("PRINCIPAL_INVESTIGATOR", "Ann Lee", "Professor", "Acme University"),
        brief_summary="Does aspirin help?",
        detailed_description="A longer **markdown** description.",
        conditions=["Tension-Type Headache", "Pain"],
        keywords=["analgesic", "  ", "headache"],
        condition_meshes=[Mesh("Tension-Type Headache", "D018781"), Mesh("Headache", "D006261"), Mesh("Pain")],
        intervention_meshes=[Mesh("Aspirin", "D001241")],
        design=Design(
            study_type="INTERVENTIONAL",
            phases=["PHASE2", "PHASE1"],
            allocation="RANDOMIZED",
            intervention_model="PARALLEL",
            intervention_model_description="Two parallel arms",
            masking_description="Identical tablets",
            target_duration="2 Weeks",
            primary_purpose="TREATMENT",
            masking="DOUBLE",
            who_masked=["PARTICIPANT", "INVESTIGATOR"],
            enrollment=Enrollment(120, "ACTUAL"),
        ),
        arm_groups=[
            ArmGroup("Aspirin", "EXPERIMENTAL", "500 mg once", ["Drug: Aspirin"]),
            ArmGroup("Placebo", "PLACEBO_COMPARATOR", None, []),
        ],
        interventions=[
            Intervention("Aspirin", "DRUG", "Tablet", ["Aspirin"], ["ASA", "acetylsalicylic acid"]),
            Intervention("Placebo", "OTHER", None, ["Placebo"]),
        ],
        outcomes=[
            Outcome("primary", "Pain score", "VAS 0-100", "2 hours"),
            Outcome("secondary", "Rescue medication use", None, None),
            Outcome("other", "Quality of life", None, "4 weeks"),
        ],
        eligibility=Eligibility(
            criteria="Inclusion Criteria:\n\n* adults",
            healthy_volunteers=False,
            sex="FEMALE",
            gender_based=True,
            gender_description="Women only",
            minimum_age=Age(6.5, "months", "6.5 Months"),
            maximum_age=Age(65, "Years", "65 Years"),
            study_population="Clinic patients",
            sampling_method="NON_PROBABILITY_SAMPLE",
        ),
        officials=[
            Official("Ann Lee, MD", "PRINCIPAL_INVESTIGATOR", "Acme University"),
            Official("Bob Roe", "STUDY_CHAIR", None),
        ],
        central_contacts=[Contact("Cat Poe", "CONTACT", "555-0100", "12", "cat@example.org")],
        locations=[
            Location("Acme Hospital", "RECRUITING", "Boston", "Massachusetts", "02115", "United States",
                     [Contact("Dan Site", "CONTACT", "555-0200", None, "dan@example.org")], Geo(42.3, -71.1)),
            Location("Other Clinic", "COMPLETED", "Lyon", None, None, "France"),
        ],
        references=[Reference("Smith J. Aspirin. 2019.", "12345678", "BACKGROUND"), Reference("Doe. Results.")],
        links=[Link("https://example.org/study", "Study site")],
    )


def _by_type(items: list[Keyed], rtype: str) -> list[dict[str, Any]]:
    return [i.resource for i in items if i.resource_type == rtype]


def _study(items: list[Keyed]) -> dict[str, Any]:
    (rs,) = _by_type(items, "ResearchStudy")
    return rs


# --- keys -----------------------------------------------------------------------------------------------------


def test_study_key() -> None:
    assert CTGOV_SYSTEM == "https://clinicaltrials.gov"
    assert study_key("NCT01234567") == (CTGOV_SYSTEM, "NCT01234567")
    assert study_key(" nct01234567 ") == (CTGOV_SYSTEM, "NCT01234567")
    assert study_key("CDISCPILOT01") == (LOCAL_STUDY_SYSTEM, "CDISCPILOT01")
    assert study_key("NCT123") == (LOCAL_STUDY_SYSTEM, "NCT123")


def test_arm_link_ids_follow_record_order() -> None:
    study = full_study()
    assert arm_link_ids(study) == {"Aspirin": "arm-1", "Placebo": "arm-2"}
    study.arm_groups.append(ArmGroup("Aspirin"))  # a repeated label keeps its first linkId
    assert arm_link_ids(study)["Aspirin"] == "arm-1"


def test_site_keys_are_stable_when_other_sites_come_and_go() -> None:
    study = full_study()
    before = site_keys(study)
    study.locations.insert(0, Location("New Site", city="Oslo", country="Norway"))
    after = site_keys(study)
    assert after[1:] == before
    assert before[0] == (SITE_SYSTEM, "NCT01234567/Acme Hospital, Boston, Massachusetts, 02115, United States")
    study.locations.append(copy.deepcopy(study.locations[1]))
    assert site_keys(study)[-1][1] == before[0][1] + "#2"


# --- R4 -------------------------------------------------------------------------------------------------------


def test_r4_resources_and_order() -> None:
    items = map_study(full_study(), R4)
    # the lead sponsor, then the collaborator (an associatedParty extension references it)
    # ... and the Provenance of them all last (tests/test_mapping_provenance.py)
    assert [i.resource_type for i in items] == ["Group", "Organization", "Location", "Location", "Organization",
                                                "ResearchStudy", "Provenance"]
    rs = items[-2]
    assert (rs.system, rs.value) == (CTGOV_SYSTEM, "NCT01234567")
    check_models(items, R4)


def test_r4_identifiers_titles_status() -> None:
    rs = _study(map_study(full_study(), R4))
    assert rs["identifier"] == [
        {"use": "official", "system": CTGOV_SYSTEM, "value": "NCT01234567"},
        {"use": "old", "system": CTGOV_SYSTEM, "value": "NCT00999999"},
        {"use": "secondary", "type": {"text": "Organization's Unique Protocol ID"}, "value": "ASP-001",
         "assigner": {"display": "Acme University"}},
        {"use": "secondary", "value": "2020-001234-11", "type": {"text": "EudraCT Number"},
         "assigner": {"display": "EudraCT"}},
        {"use": "secondary", "value": "R01 NS000000", "type": {"text": "U.S. NIH Grant/Contract"}},
    ]
    assert rs["title"] == "Aspirin for Headache"
    assert "label" not in rs  # R4 has no label
    assert rs["status"] == "administratively-completed"
    assert rs["reasonStopped"] == {"text": "Sponsor decision"}
    # R4 Period cannot say a date is anticipated: the estimated completion is only in progressStatus.
    assert rs["period"] == {"start": "2020-01-15"}


def test_r4_phase_design_purpose() -> None:
    rs = _study(map_study(full_study(), R4))
    assert rs["phase"] == {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/research-study-phase",
                    "code": "phase-1-phase-2", "display": "Phase 1/Phase 2"}],
        "text": "Phase 1/Phase 2",
    }
    assert rs["primaryPurposeType"] == {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/research-study-prim-purp-type",
                    "code": "treatment", "display": "Treatment"}],
        "text": "Treatment",
    }
    texts = [c["text"] for c in rs["category"]]
    assert texts == ["Study type: Interventional", "Allocation: Randomized", "Intervention model: Parallel Assignment",
                     "Masking: Double", "Masked: Participant", "Masked: Investigator",
                     "Sampling method: Non-Probability Sample"]
    assert rs["category"][0]["coding"] == [{"system": SEVCO, "code": "SEVCO:01001",
                                            "display": "Interventional research"}]
    assert "coding" not in rs["category"][3]  # masking level: no SEVCO code, kept as text
    assert rs["category"][4]["coding"][0]["code"] == "SEVCO:01060"


def test_r4_conditions_keywords_focus() -> None:
    rs = _study(map_study(full_study(), R4))
    # Derived MeSH terms code the stated conditions and interventions; they are not more of them.
    assert rs["condition"] == [
        {"coding": [{"system": MESH, "code": "D018781", "display": "Tension-Type Headache"}],
         "text": "Tension-Type Headache"},
        {"text": "Pain"},  # its MeSH term has no id (older formats): not coded
    ]
    # "Headache" names no condition: it indexes the study, and the keyword of the same words gets its code.
    assert rs["keyword"] == [
        {"text": "analgesic"},
        {"coding": [{"system": MESH, "code": "D006261", "display": "Headache"}], "text": "headache"},
    ]
    assert rs["focus"] == [
        {"coding": [{"system": MESH, "code": "D001241", "display": "Aspirin"}], "text": "Drug: Aspirin"},
        {"text": "Other: Placebo"},
    ]


def test_r4_arms_objectives_description_artifacts() -> None:
    rs = _study(map_study(full_study(), R4))
    exposure = xver.url("ResearchStudy.comparisonGroup.intendedExposure")
    assert rs["arm"] == [
        {"extension": [{"url": exposure, "valueReference": {"reference": "#intervention-1", "type": "EvidenceVariable",
                                                             "display": "Drug: Aspirin"}}],
         "name": "Aspirin",
         "type": {"coding": [{"system": "http://hl7.org/fhir/research-study-arm-type", "code": "experimental",
                              "display": "Experimental"}], "text": "Experimental"},
         "description": "500 mg once\n\nInterventions: Drug: Aspirin"},
        {"extension": [{"url": exposure, "valueReference": {"reference": "#intervention-2", "type": "EvidenceVariable",
                                                             "display": "Other: Placebo"}}],
         "name": "Placebo",
         "type": {"coding": [{"system": "http://hl7.org/fhir/research-study-arm-type", "code": "placebo-comparator",
                              "display": "Placebo Comparator"}], "text": "Placebo Comparator"},
         "description": "Interventions: Other: Placebo"},
    ]
    assert [(o["name"], o["type"]["coding"][0]["code"]) for o in rs["objective"]] == [
        ("Pain score", "primary"), ("Rescue medication use", "secondary"), ("Quality of life", "exploratory")]
    assert rs["description"] == "Does aspirin help?\n\nA longer **markdown** description."
    # The reference type classifies the citation (R5 classifier); `label` is a citation label such as "[1]".
    assert rs["relatedArtifact"] == [
        {"type": "citation", "extension": [{"url": xver.url("RelatedArtifact.classifier"),
                                            "valueCodeableConcept": {"text": "Background"}}],
         "citation": "Smith J. Aspirin. 2019.", "url": "https://pubmed.ncbi.nlm.nih.gov/12345678/"},
        {"type": "citation", "citation": "Doe. Results."},
        {"type": "documentation", "display": "Study site", "url": "https://example.org/study"},
    ]


def test_r4_sponsor_investigator_contacts_sites() -> None:
    items = map_study(full_study(), R4)
    rs = _study(items)
    org, collaborator = _by_type(items, "Organization")
    assert collaborator["name"] == "National Institute of Neurological Disorders and Stroke (NINDS)"
    assert org == {
        "resourceType": "Organization",
        "identifier": [{"system": ORGANIZATION_SYSTEM, "value": "Acme Pharma"}],
        "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "bus",
                              "display": "Non-Healthcare Business or Corporation"}], "text": "Industry"}],
        "name": "Acme Pharma",
    }
    assert rs["sponsor"] == {"reference": full_url("Organization", ORGANIZATION_SYSTEM, "Acme Pharma"),
                             "display": "Acme Pharma"}
    assert rs["principalInvestigator"] == {"display": "Ann Lee, MD, Acme University"}
    # A study chair is a party to the study (R5 associatedParty), not one of its contact points.
    assert rs["contact"] == [
        {"name": "Cat Poe", "telecom": [{"system": "phone", "value": "555-0100 ext. 12"},
                                        {"system": "email", "value": "cat@example.org"}]},
    ]
    parties = [e for e in rs["extension"] if e["url"] == xver.url("ResearchStudy.associatedParty")]
    assert parties[0] == {"url": xver.url("ResearchStudy.associatedParty"), "extension": [
        {"url": "name", "valueString": "Bob Roe"},
        {"url": "role", "valueCodeableConcept": {
            "coding": [{"system": "http://hl7.org/fhir/research-study-party-role", "code": "study-chair",
                        "display": "study-chair"}], "text": "Study Chair"}}]}
    locs = _by_type(items, "Location")
    assert locs[0] == {
        "resourceType": "Location",
        # R4 Location has no contact names: R5 Location.contact as an extension keeps them.
        "extension": [{"url": xver.url("Location.contact"), "extension": [
            {"url": "purpose", "valueCodeableConcept": {"text": "Contact"}},
            {"url": "name", "valueHumanName": {"text": "Dan Site"}},
            {"url": "telecom", "valueContactPoint": {"system": "phone", "value": "555-0200"}},
            {"url": "telecom", "valueContactPoint": {"system": "email", "value": "dan@example.org"}}]}],
        "identifier": [{"system": SITE_SYSTEM,
                        "value": "NCT01234567/Acme Hospital, Boston, Massachusetts, 02115, United States"}],
        "description": "Recruitment status: Recruiting",
        "name": "Acme Hospital",
        "telecom": [{"system": "phone", "value": "555-0200"}, {"system": "email", "value": "dan@example.org"}],
        "address": {"city": "Boston", "state": "Massachusetts", "postalCode": "02115", "country": "United States"},
        "position": {"longitude": -71.1, "latitude": 42.3},
    }
    # Location.status is about the place, not about recruitment there: not set from the site's status.
    assert "status" not in locs[1]
    assert locs[1]["description"].startswith("Recruitment status: ")
    assert rs["site"][1] == {"reference": full_url("Location", SITE_SYSTEM, "NCT01234567/Other Clinic, Lyon, France"),
                             "display": "Other Clinic"}


def test_r4_enrollment_group() -> None:
    items = map_study(full_study(), R4)
    (group,) = _by_type(items, "Group")
    assert _study(items)["enrollment"] == [{"reference": full_url("Group", GROUP_SYSTEM, "NCT01234567")}]
    assert group["actual"] is True
    assert group["quantity"] == 120
    assert group["type"] == "person"
    chars = group["characteristic"]
    assert chars[0] == {"code": {"text": "Eligibility criteria"},
                        "valueCodeableConcept": {"text": "Inclusion Criteria:\n\n* adults"}, "exclude": False}
    assert chars[1]["valueCodeableConcept"]["coding"][0]["code"] == "female"
    assert chars[1]["code"]["coding"][0] == {"system": "http://loinc.org", "code": "46098-0", "display": "Sex"}
    assert chars[2]["valueCodeableConcept"] == {"text": "Women only"}
    assert chars[3]["valueRange"] == {
        "low": {"value": 6.5, "unit": "month", "system": "http://unitsofmeasure.org", "code": "mo"},
        # 65 years in months: one unit for both bounds (HAPI's rng-2 compares only like units)
        "high": {"value": 780, "unit": "month", "system": "http://unitsofmeasure.org", "code": "mo"},
    }
    assert chars[4] == {"code": {"text": "Accepts healthy volunteers"}, "valueBoolean": False, "exclude": False}
    assert chars[5]["valueCodeableConcept"] == {"text": "Clinic patients"}


def test_r4_estimated_enrollment_is_not_actual() -> None:
    study = full_study()
    study.design.enrollment = Enrollment(50, "ESTIMATED")
    (group,) = _by_type(map_study(study, R4), "Group")
    assert group["actual"] is False
    assert group["quantity"] == 50


def test_r4_unknown_status_is_unknown_and_keeps_the_last_known_one_as_progress() -> None:
    study = full_study()
    study.overall_status, study.last_known_status = "UNKNOWN", "RECRUITING"
    rs = _study(map_study(study, R4))
    # The registry no longer knows the state: the last known one is not presented as the current one.
    assert "status" not in rs
    assert rs["_status"] == {"extension": [{"url": DAR, "valueCode": "unknown"}]}
    progress = [e["extension"] for e in rs["extension"] if e["url"] == xver.url("ResearchStudy.progressStatus")]
    assert progress[0] == [{"url": "state", "valueCodeableConcept": {"text": "Unknown status"}}]
    assert progress[1] == [{"url": "state", "valueCodeableConcept": {
        "coding": [{"system": "http://hl7.org/fhir/research-study-status", "code": "active", "display": "Active"}],
        "text": "Last known status: Recruiting"}}]
    study.last_known_status = None
    rs = _study(map_study(study, R4))
    assert "status" not in rs
    assert rs["_status"] == {"extension": [{"url": DAR, "valueCode": "unknown"}]}


def test_r4_withheld_is_not_guessed_but_marked_absent() -> None:
    study = full_study()
    study.overall_status = "WITHHELD"
    rs = _study(map_study(study, R4))
    assert "status" not in rs
    assert rs["_status"] == {"extension": [{"url": DAR, "valueCode": "masked"}]}
    assert _study(map_study(study, R5))["status"] == "unknown"


def test_r4_unknown_code_still_raises() -> None:
    study = full_study()
    study.overall_status = "SLEEPING"
    with pytest.raises(UnmappedCodeError, match="SLEEPING") as err:
        map_study(study, R4)
    assert err.value.field == "statusModule.overallStatus"


DAR = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"


def test_r4_without_any_status_says_it_is_unknown() -> None:
    rs = _study(map_study(Study("NCT01234567"), R4))
    assert "status" not in rs
    assert rs["_status"] == {"extension": [{"url": DAR, "valueCode": "unknown"}]}


# --- R5 -------------------------------------------------------------------------------------------------------


def test_r5_resources_and_order() -> None:
    items = map_study(full_study(), R5)
    assert [i.resource_type for i in items] == [
        "Organization", "Organization", "Group", "Location", "Location", "ResearchStudy", "Provenance"]
    check_models(items, R5)
    assert not any(k in _study(items) for k in ("arm", "objective", "enrollment", "sponsor", "principalInvestigator",
                                                 "contact", "category", "reasonStopped", "location"))


def test_r5_titles_status_progress() -> None:
    rs = _study(map_study(full_study(), R5))
    assert rs["title"] == "Aspirin for Headache"
    assert rs["label"] == [
        {"type": {"coding": [{"system": "http://hl7.org/fhir/title-type", "code": "official",
                              "display": "Official title"}]},
         "value": "A Randomized, Double-Blind Trial of Aspirin Versus Placebo for Tension Headache"},
        {"type": {"coding": [{"system": "http://hl7.org/fhir/title-type", "code": "acronym",
                              "display": "Acronym"}]}, "value": "ASPIRE"},
    ]
    assert rs["status"] == "active"
    assert rs["date"] == "2022-02-01"
    assert rs["whyStopped"] == {"text": "Sponsor decision"}
    overall = {"system": "http://hl7.org/fhir/research-study-status", "code": "overall-study",
               "display": "Overall study"}
    assert rs["progressStatus"] == [
        {"state": {"coding": [{"system": "http://hl7.org/fhir/research-study-status", "code": "terminated",
                               "display": "Terminated"}], "text": "Terminated"}},
        {"state": {"coding": [overall], "text": "Study start"}, "actual": True, "period": {"start": "2020-01-15"}},
        {"state": {"text": "Primary completion"}, "actual": True, "period": {"end": "2021-06"}},
        {"state": {"coding": [overall], "text": "Study completion"}, "actual": False, "period": {"end": "2021-12-31"}},
    ]
    assert rs["descriptionSummary"] == "Does aspirin help?"
    assert rs["description"] == "A longer **markdown** description."


def test_r5_unknown_status_keeps_last_known() -> None:
    study = full_study()
    study.overall_status, study.last_known_status = "UNKNOWN", "RECRUITING"
    rs = _study(map_study(study, R5))
    assert rs["status"] == "unknown"
    assert rs["progressStatus"][0]["state"] == {"text": "Unknown status"}
    assert rs["progressStatus"][1]["state"]["text"] == "Last known status: Recruiting"
    assert rs["progressStatus"][1]["state"]["coding"][0]["code"] == "recruiting"


def test_r5_design_classifier_focus() -> None:
    study = full_study()
    study.design.patient_registry = True
    rs = _study(map_study(study, R5))
    assert rs["studyDesign"][0]["coding"][0]["code"] == "SEVCO:01001"
    assert rs["studyDesign"] == _study(map_study(study, R4))["category"]
    assert rs["classifier"] == [{"text": "Patient registry"}]
    assert rs["focus"][0] == {"concept": {"coding": [{"system": MESH, "code": "D001241", "display": "Aspirin"}],
                                          "text": "Drug: Aspirin"}}
    assert rs["phase"]["coding"][0]["code"] == "phase-1-phase-2"


def test_r5_comparison_groups_link_interventions() -> None:
    rs = _study(map_study(full_study(), R5))
    assert rs["comparisonGroup"] == [
        {"linkId": "arm-1", "name": "Aspirin",
         "type": {"coding": [{"system": "http://hl7.org/fhir/research-study-arm-type", "code": "experimental",
                              "display": "Experimental"}], "text": "Experimental"},
         "description": "500 mg once",
         "intendedExposure": [{"reference": "#intervention-1", "type": "EvidenceVariable",
                               "display": "Drug: Aspirin"}]},
        {"linkId": "arm-2", "name": "Placebo",
         "type": {"coding": [{"system": "http://hl7.org/fhir/research-study-arm-type", "code": "placebo-comparator",
                              "display": "Placebo Comparator"}], "text": "Placebo Comparator"},
         "intendedExposure": [{"reference": "#intervention-2", "type": "EvidenceVariable",
                               "display": "Other: Placebo"}]},
    ]
    evs = [c for c in rs["contained"] if c["resourceType"] == "EvidenceVariable"]
    assert evs == [
        {"resourceType": "EvidenceVariable", "id": "intervention-1", "title": "Drug: Aspirin",
         "note": [{"text": "Other names: ASA; acetylsalicylic acid"}], "status": "active", "description": "Tablet"},
        {"resourceType": "EvidenceVariable", "id": "intervention-2", "title": "Other: Placebo", "status": "active"},
    ]


def test_r5_parties() -> None:
    items = map_study(full_study(), R5)
    rs = _study(items)
    role = "http://hl7.org/fhir/research-study-party-role"
    parties = rs["associatedParty"]
    assert parties[0] == {
        "name": "Acme Pharma",
        "role": {"coding": [{"system": role, "code": "lead-sponsor"}], "text": "Lead Sponsor"},
        "classifier": [{"coding": [{"system": "http://hl7.org/fhir/research-study-party-organization-type",
                                    "code": "industry", "display": "Industry"}], "text": "Industry"}],
        "party": {"reference": full_url("Organization", ORGANIZATION_SYSTEM, "Acme Pharma"), "display": "Acme Pharma"},
    }
    assert parties[1]["role"]["coding"][0]["code"] == "collaborator"
    assert parties[1]["classifier"][0]["coding"][0]["code"] == "nih"
    assert parties[2] == {"name": "Ann Lee, MD",
                          "role": {"coding": [{"system": role, "code": "primary-investigator",
                                               "display": "primary-investigator"}],
                                   "text": "Principal Investigator"},
                          "party": {"display": "Acme University"}}
    assert parties[3]["role"]["coding"][0]["code"] == "study-chair"
    assert "party" not in parties[3]
    assert parties[4]["name"] == "Ann Lee, Professor"
    assert parties[4]["role"]["text"] == "Responsible party: Principal Investigator"
    assert parties[5] == {"role": {"coding": [{"system": role, "code": "recruitment-contact",
                                               "display": "recruitment-contact"}], "text": "Contact"},
                          "name": "Cat Poe", "party": {"reference": "#contact-1", "type": "Practitioner"}}
    assert rs["contained"][0] == {"resourceType": "Practitioner", "id": "contact-1", "name": [{"text": "Cat Poe"}],
                                  "telecom": [{"system": "phone", "value": "555-0100 ext. 12"},
                                              {"system": "email", "value": "cat@example.org"}]}
    orgs = _by_type(items, "Organization")
    ninds = "National Institute of Neurological Disorders and Stroke (NINDS)"
    assert [o["name"] for o in orgs] == ["Acme Pharma", ninds]


def test_r5_recruitment_eligibility_outcomes_sites() -> None:
    items = map_study(full_study(), R5)
    rs = _study(items)
    assert rs["recruitment"] == {"actualNumber": 120,
                                 "eligibility": {"reference": full_url("Group", GROUP_SYSTEM, "NCT01234567")}}
    (group,) = _by_type(items, "Group")
    assert group["membership"] == "definitional"
    assert group["description"] == "Inclusion Criteria:\n\n* adults"
    assert [c["code"].get("text") for c in group["characteristic"]] == [
        "Sex", "Gender eligibility", "Age", "Accepts healthy volunteers", "Study population"]
    assert rs["outcomeMeasure"][0] == {
        "name": "Pain score",
        "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/research-study-objective-type",
                              "code": "primary", "display": "Primary"}], "text": "Primary Outcome"}],
        "description": "VAS 0-100\n\nTime frame: 2 hours",
    }
    assert rs["outcomeMeasure"][2]["description"] == "Time frame: 4 weeks"
    assert "description" not in rs["outcomeMeasure"][1]
    loc = _by_type(items, "Location")[0]
    assert loc["contact"] == [{"purpose": {"text": "Contact"}, "name": [{"text": "Dan Site"}],
                               "telecom": [{"system": "phone", "value": "555-0200"},
                                           {"system": "email", "value": "dan@example.org"}]}]
    assert "telecom" not in loc
    assert rs["relatedArtifact"][0]["document"] == {"url": "https://pubmed.ncbi.nlm.nih.gov/12345678/"}


def test_r5_estimated_enrollment_is_a_target() -> None:
    study = full_study()
    study.design.enrollment = Enrollment(80, "ESTIMATED")
    assert _study(map_study(study, R5))["recruitment"]["targetNumber"] == 80


# --- both versions --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", list(FhirVersion))
def test_absent_fields_produce_no_elements(version: FhirVersion) -> None:
    items = map_study(Study("NCT01234567", overall_status="RECRUITING"), version)
    assert [i.resource_type for i in items] == ["ResearchStudy", "Provenance"]
    rs = items[0].resource
    # The current status is also the first progressStatus entry (R5 element, R4 extension).
    expected = {"resourceType", "identifier", "status"} | ({"progressStatus"} if version is R5 else {"extension"})
    assert set(rs) == expected
    check_models(items, version)


@pytest.mark.parametrize("version", list(FhirVersion))
def test_same_study_same_bytes(version: FhirVersion) -> None:
    first = dumps(build_bundle(map_study(full_study(), version), kind="transaction", version=version))
    second = dumps(build_bundle(map_study(full_study(), version), kind="transaction", version=version))
    assert first == second


@pytest.mark.parametrize("version", list(FhirVersion))
def test_mapping_does_not_change_the_study(version: FhirVersion) -> None:
    study = full_study()
    before = copy.deepcopy(study)
    map_study(study, version)
    assert study == before


@pytest.mark.parametrize("version", list(FhirVersion))
def test_unmapped_phase_combination_names_the_field(version: FhirVersion) -> None:
    study = full_study()
    study.design.phases = ["PHASE1", "PHASE3"]
    with pytest.raises(UnmappedCodeError) as err:
        map_study(study, version)
    assert err.value.field == "designModule.phases"
    assert "PHASE1/PHASE3" in str(err.value)


@pytest.mark.parametrize("version", list(FhirVersion))
def test_unknown_codes_name_their_field(version: FhirVersion) -> None:
    study = full_study()
    study.arm_groups[0].type = "NEW_KIND"
    with pytest.raises(UnmappedCodeError) as err:
        map_study(study, version)
    assert err.value.field == "armsInterventionsModule.armGroups.type"
    study = full_study()
    study.locations[0].status = "PAUSED"
    with pytest.raises(UnmappedCodeError) as err:
        map_study(study, version)
    assert err.value.field == "contactsLocationsModule.locations.status"


@pytest.mark.parametrize("version", list(FhirVersion))
def test_bad_values_are_input_errors(version: FhirVersion) -> None:
    study = full_study()
    study.locations[0].geo = Geo(142.0, 10.0)
    with pytest.raises(InputError, match="latitude"):
        map_study(study, version)
    study = full_study()
    study.eligibility.minimum_age = Age(18, "fortnights", "18 Fortnights")
    with pytest.raises(UnmappedCodeError) as err:
        map_study(study, version)
    assert err.value.field == "eligibilityModule.minimumAge"


@pytest.mark.parametrize("version", list(FhirVersion))
def test_sex_all_is_stated_as_text(version: FhirVersion) -> None:
    study = full_study()
    study.eligibility.sex = "ALL"
    (group,) = _by_type(map_study(study, version), "Group")
    sex = next(c for c in group["characteristic"] if c["code"].get("text") == "Sex")
    assert sex["valueCodeableConcept"] == {"text": "All"}


@pytest.mark.parametrize("version", list(FhirVersion))
def test_check_models_names_type_key_and_path(version: FhirVersion) -> None:
    bad = Keyed({"resourceType": "Location", "identifier": [{"system": SITE_SYSTEM, "value": "x"}],
                 "position": {"longitude": "east", "latitude": 1}}, SITE_SYSTEM, "x")
    with pytest.raises(ValidationFailed) as err:
        check_models([bad], version)
    assert err.value.field == "position.longitude"
    assert f"Location {SITE_SYSTEM}|x" in str(err.value)


def test_other_study_ids_are_keyed_locally() -> None:
    study = full_study()
    study.nct_id = "CDISCPILOT01"
    items = map_study(study, R5)
    assert (items[-2].system, items[-2].value) == (LOCAL_STUDY_SYSTEM, "CDISCPILOT01")
    assert _study(items)["identifier"][0] == {"use": "official", "system": LOCAL_STUDY_SYSTEM, "value": "CDISCPILOT01"}


@pytest.mark.parametrize("version", list(FhirVersion))
def test_check_models_names_the_path_inside_a_memoised_fragment(version: FhirVersion) -> None:
    good = {"resourceType": "Organization", "identifier": [{"system": "urn:x", "value": "a"}],
            "type": [{"text": "ok"}], "name": "A"}
    check_models([Keyed(good, "urn:x", "a")], version)
    check_models([Keyed(good, "urn:x", "a")], version)  # a fragment seen before: still fine
    bad = copy.deepcopy(good)
    bad["type"].append({"coding": [{"code": "x", "bogus": 1}]})
    with pytest.raises(ValidationFailed) as err:
        check_models([Keyed(bad, "urn:x", "a")], version)
    assert err.value.field == "type.1.coding.0.bogus"
    resource = map_study(full_study(), version)[-1].resource
    before = copy.deepcopy(resource)
    check_models(map_study(full_study(), version), version)
    assert resource == before  # the check never changes the resources it checks


@pytest.mark.parametrize("version", list(FhirVersion))
def test_check_models_agrees_with_plain_model_validation(version: FhirVersion) -> None:
    from fhirconv.versions import model_class

    for item in map_study(full_study(), version):
        model_class(version, item.resource_type).model_validate(item.resource)
    study = full_study()
    study.start_date = DateInfo("2020-13-45", "ACTUAL")  # a reader would not let this through; the check must
    items = map_study(study, version)
    with pytest.raises(ValidationFailed) as err:
        check_models(items, version)
    assert err.value.field.startswith("period.start")


@pytest.mark.parametrize("version", list(FhirVersion))
def test_full_study_passes_every_offline_validation_layer(version: FhirVersion) -> None:
    from fhirconv.pipeline.study import convert_study
    from fhirconv.validation import Severity, validate_content

    findings = validate_content(convert_study(full_study(), version), version)
    problems = [f for f in findings if f.severity in (Severity.FATAL, Severity.ERROR, Severity.WARNING)]
    assert problems == []


@pytest.mark.parametrize("version", list(FhirVersion))
def test_location_fast_path_still_rejects_bad_values(version: FhirVersion) -> None:
    good = {"resourceType": "Location", "identifier": [{"system": SITE_SYSTEM, "value": "fast"}], "status": "active",
            "name": "A", "position": {"longitude": 1.5, "latitude": 2.5}}
    check_models([Keyed(good, SITE_SYSTEM, "fast")], version)  # this shape is now known
    same_shape = {**good, "position": {"longitude": float("nan"), "latitude": 2.5}}
    with pytest.raises(ValidationFailed) as err:
        check_models([Keyed(same_shape, SITE_SYSTEM, "fast")], version)
    assert err.value.field == "position.longitude"
    other_type = {**good, "position": {"longitude": "east", "latitude": 2.5}}  # a new shape: full model
    with pytest.raises(ValidationFailed):
        check_models([Keyed(other_type, SITE_SYSTEM, "fast")], version)


@pytest.mark.parametrize("version", list(FhirVersion))
def test_design_free_text_becomes_notes(version: FhirVersion) -> None:
    rs = _study(map_study(full_study(), version))
    assert rs["note"] == [{"text": "Intervention model description: Two parallel arms"},
                          {"text": "Masking description: Identical tablets"}, {"text": "Target duration: 2 Weeks"}]
