"""Issue 11 'not placed yet': oversight, IPD sharing, registry dates, expanded access, age groups, responsible
party, site contact roles, biospecimens, secondary-ID links, posted documents, unposted / violation events —
read from real corpus records of each format and placed in both FHIR versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fhirconv.mapping import map_study, xver
from fhirconv.mapping.study.registry import CLASSIFIERS, CODES, EXT
from fhirconv.model.study import Study
from fhirconv.readers import read_study
from fhirconv.validation.structure import check_models
from fhirconv.versions import FhirVersion

R4, R5 = FhirVersion.R4, FhirVersion.R5
CORPUS = Path(__file__).parent / "data" / "ctgov-corpus"


def _study(name: str) -> Study:
    return read_study(CORPUS / name)


def _resources(study: Study, version: FhirVersion) -> list[dict[str, Any]]:
    items = map_study(study, version)
    check_models(items, version)
    return [i.resource for i in items]


def _rs(study: Study, version: FhirVersion) -> dict[str, Any]:
    return next(r for r in _resources(study, version) if r["resourceType"] == "ResearchStudy")


def _ext(rs: dict[str, Any], name: str) -> dict[str, list[Any]]:
    """The sub-extension values of fhirconv extension `name`, by sub-extension url."""
    (ext,) = [e for e in rs.get("extension", []) if e["url"] == EXT + name]
    out: dict[str, list[Any]] = {}
    for sub in ext["extension"]:
        (value,) = [v for k, v in sub.items() if k.startswith("value")]
        out.setdefault(sub["url"], []).append(value)
    return out


@pytest.mark.parametrize("version", [R4, R5])
def test_v2_oversight_violation_documents(version: FhirVersion) -> None:
    rs = _rs(_study("NCT03064438.json"), version)
    assert _ext(rs, "oversight") == {"hasDmc": [False], "fdaRegulatedDrug": [True], "fdaRegulatedDevice": [False],
                                     "usExport": [False], "fdaaa801Violation": [True]}
    classes = rs["classifier"] if version is R5 else rs["category"]
    assert {"coding": [{"system": CLASSIFIERS, "code": "fda-regulated-drug", "display": "FDA regulated drug"}],
            "text": "FDA regulated drug"} in classes
    assert not any(c.get("coding", [{}])[0].get("code") == "fda-regulated-device" for c in classes)
    assert {"coding": [{"system": CODES + "StandardAge", "code": "OLDER_ADULT", "display": "Older Adult"}],
            "text": "Age group: Older Adult"} in classes
    violations = [n for n in rs["note"] if n["text"].startswith("FDAAA 801 violation")]
    assert violations[1]["time"] == "2021-07-29"
    assert violations[1]["text"].startswith("FDAAA 801 violation: Violation identified (letter issued 2021-07-26, "
                                            "record released 2018-04-12, posted 2021-07-29, created 2021-07-28). "
                                            "Failure to Submit.")
    docs = [a for a in rs["relatedArtifact"] if a["type"] == "documentation"]
    assert docs[1]["display"] == "Statistical Analysis Plan"
    expected = {
        "contentType": "application/pdf", "url": "https://cdn.clinicaltrials.gov/large-docs/38/NCT03064438/SAP_001.pdf",
        "size": 7296067, "title": "SAP_001.pdf", "creation": "2018-05-11"}
    if version is R5:
        del expected["size"]
    assert docs[1]["document"] == expected
    kind = {"text": "Statistical analysis plan"}
    if version is R5:
        assert docs[1]["classifier"] == [kind]
    else:
        assert docs[1]["extension"] == [xver.simple("RelatedArtifact.classifier", "CodeableConcept", kind)]
    dates = _ext(rs, "registry-dates")
    assert dates["firstSubmittedQc"] == ["2017-02-24"]
    assert dates["statusVerified"] == ["2021-08"]
    assert dates["resultsFirstPosted"] == ["2021-08-23"]
    # R5 has `date` for the last update; R4 only the extension.
    assert ("lastUpdatePosted" in dates) is (version is R4)


@pytest.mark.parametrize("version", [R4, R5])
def test_v2_ipd_sharing_and_expanded_access(version: FhirVersion) -> None:
    rs = _rs(_study("NCT04431453.json"), version)
    ipd = _ext(rs, "ipd-sharing")
    assert ipd["plan"] == [{"system": CODES + "IpdSharing", "code": "YES", "display": "Yes"}]
    assert [c["code"] for c in ipd["infoType"]] == ["STUDY_PROTOCOL", "SAP"]
    assert ipd["timeFrame"] == ["18 months after study completion"]
    assert ipd["accessCriteria"] == ["A secured external environment with username, password, and RSA code."]
    assert ipd["url"] == ["https://www.gileadclinicaltrials.com/transparency-policy#Commitment"]
    assert ipd["description"][0].startswith("Qualified external researchers may request IPD")
    ea = _ext(rs, "expanded-access")
    assert ea == {"available": [True], "record": [{"system": "https://clinicaltrials.gov", "value": "NCT04323761"}],
                  "status": [{"system": CODES + "ExpandedAccessStatus", "code": "APPROVED_FOR_MARKETING",
                              "display": "Approved for marketing"}]}


@pytest.mark.parametrize("version", [R4, R5])
def test_v2_disposition_dates_and_responsible_sponsor(version: FhirVersion) -> None:
    rs = _rs(_study("NCT02552212.json"), version)
    dates = _ext(rs, "registry-dates")
    assert dates["dispositionFirstSubmitted"] == ["2019-03-01"]
    assert dates["dispositionFirstPosted"] == ["2019-03-05"]
    assert dates["resultsFirstSubmittedQc"] == ["2020-07-31"]
    # Responsible party SPONSOR: the lead sponsor is named with that role, referencing its Organization.
    if version is R5:
        (party,) = [p for p in rs["associatedParty"] if p["role"]["text"] == "Responsible party: Sponsor"]
        assert party["role"]["coding"][0]["code"] == "sponsor"
        assert party["party"]["reference"].startswith("urn:uuid:")
    else:
        parties = [e["extension"] for e in rs["extension"] if e["url"] == xver.url("ResearchStudy.associatedParty")]
        (party,) = [p for p in parties if p[1]["valueCodeableConcept"]["text"] == "Responsible party: Sponsor"]
        assert party[0]["valueString"] == rs["sponsor"]["display"]
        assert party[2]["valueReference"] == rs["sponsor"]


@pytest.mark.parametrize("version", [R4, R5])
def test_v2_site_contact_roles_and_secondary_id_links(version: FhirVersion) -> None:
    study = _study("NCT03281889.json")
    res = _resources(study, version)
    roles = set()
    for loc in (r for r in res if r["resourceType"] == "Location"):
        if version is R5:
            roles |= {c["purpose"]["text"] for c in loc.get("contact", []) if "purpose" in c}
        else:
            for e in loc.get("extension", []):
                roles |= {s["valueCodeableConcept"]["text"] for s in e["extension"] if s["url"] == "purpose"}
    assert "Principal Investigator" in roles
    linked = [s for s in study.secondary_ids if s.link]
    rs = next(r for r in res if r["resourceType"] == "ResearchStudy")
    for sid in linked:
        art = next(a for a in rs["relatedArtifact"] if a.get("display", "").endswith(sid.id))
        assert (art["url"] if version is R4 else art["document"]["url"]) == sid.link


def test_secondary_id_link_from_the_corpus() -> None:
    # At least one corpus record links a secondary ID (e.g. an NIH grant to RePORTER): it becomes an artifact.
    found = []
    for path in sorted(CORPUS.glob("*.json")):
        if path.name.endswith(".classic.json"):
            continue
        study = read_study(path)
        if any(s.link for s in study.secondary_ids):
            found.append(study)
    assert found
    study = found[0]
    sid = next(s for s in study.secondary_ids if s.link)
    rs = _rs(study, R5)
    assert any(a.get("document", {}).get("url") == sid.link and sid.id in a["display"] for a in rs["relatedArtifact"])


@pytest.mark.parametrize("version", [R4, R5])
def test_xml_documents_biospecimens_unposted(version: FhirVersion) -> None:
    rs = _rs(_study("NCT01298141.xml"), version)
    docs = [a for a in rs["relatedArtifact"] if a["type"] == "documentation" and "document" in a]
    assert docs[0]["display"] == "Study Protocol: Original Protocol"
    assert docs[0]["document"]["url"] == "https://ClinicalTrials.gov/ProvidedDocs/41/NCT01298141/Prot_000.pdf"
    assert docs[0]["document"]["creation"] == "2010-09-30"
    assert _ext(rs, "oversight") == {"hasDmc": [True]}
    assert _ext(rs, "registry-dates")["resultsFirstPosted"] == ["2019-02-15"]

    rs = _rs(_study("NCT00482794.xml"), version)
    design = rs["studyDesign"] if version is R5 else rs["category"]
    assert {"coding": [{"system": CODES + "BioSpecRetention", "code": "SAMPLES_WITH_DNA",
                        "display": "Samples With DNA"}], "text": "Biospecimen retention: Samples With DNA"} in design
    assert {"text": "Biospecimen description: Serum, plasma, and DNA samples"} in rs["note"]


@pytest.mark.parametrize("version", [R4, R5])
def test_xml_pending_results_are_dated_notes(version: FhirVersion) -> None:
    studies = [read_study(p) for p in sorted(CORPUS.glob("*.xml"))]
    pending = [s for s in studies if any(e.kind == "unposted" for e in s.record_events)]
    assert pending, "corpus XML with <pending_results>"
    rs = _rs(pending[0], version)
    events = [n for n in rs["note"] if n["text"].startswith(("Results submitted", "Results returned",
                                                             "Results submission cancelled"))]
    assert len(events) == len(pending[0].record_events)
    assert events[0] == {"time": pending[0].record_events[0].date,
                         "text": "Results submitted to ClinicalTrials.gov, not yet posted"}


@pytest.mark.parametrize("version", [R4, R5])
def test_classic_ipd_documents_biospecimens(version: FhirVersion) -> None:
    rs = _rs(_study("NCT05531773.classic.json"), version)
    ipd = _ext(rs, "ipd-sharing")
    assert [c["code"] for c in ipd["infoType"]] == ["STUDY_PROTOCOL", "SAP", "ICF", "CSR"]
    assert ipd["accessCriteria"] == ["REQUEST TO THE STUDY COORDINATOR OR TO THE PROJECTPARTNERS"]
    assert ipd["url"] == ["https://eucareresearch.eu/"]
    assert {"text": "Biospecimen description: blood samples and a nasopharyngeal swab at COVID-19 diagnosis"} \
        in rs["note"]
    rs = _rs(_study("NCT02403505.classic.json"), version)
    icf = next(a for a in rs["relatedArtifact"] if a.get("display") == "Informed Consent Form")
    assert icf["document"]["url"] == "https://cdn.clinicaltrials.gov/large-docs/05/NCT02403505/ICF_007.pdf"
    assert icf["document"]["creation"] == "2022-11-03"
    assert _ext(rs, "oversight") == {"fdaRegulatedDrug": [True], "fdaRegulatedDevice": [False]}


def test_same_study_same_registry_facts_from_xml_and_v2() -> None:
    """NCT02513394 exists as API v2 JSON and as legacy XML (an older version, from before its results were
    posted): the registry facts both versions carry agree."""
    v2, xml = _study("NCT02513394.json"), _study("NCT02513394.xml")
    assert v2.oversight is not None
    assert xml.oversight is not None
    assert v2.oversight.has_dmc == xml.oversight.has_dmc
    assert v2.registry_dates.first_submitted_qc == xml.registry_dates.first_submitted_qc
    assert v2.first_submitted == xml.first_submitted == "2015-07-29"
    assert v2.expanded_access is not None
    assert xml.expanded_access is not None
    assert v2.expanded_access.available == xml.expanded_access.available


def test_r4_carries_intervention_descriptions_and_other_names_like_r5() -> None:
    """R4 parity: R5's contained EvidenceVariables (description, other names), referenced from the arms."""
    study = _study("NCT02210780.json")
    r4, r5 = _rs(study, R4), _rs(study, R5)
    r5_vars = {c["id"]: c for c in r5["contained"] if c["resourceType"] == "EvidenceVariable"}
    r4_vars = {c["id"]: c for c in r4["contained"]}
    assert set(r4_vars) == set(r5_vars)
    dupilumab = next(v for v in r4_vars.values() if v["title"] == "Drug: Dupilumab")
    assert dupilumab["description"] == "Administered via subcutaneous injection."
    assert dupilumab["note"] == [{"text": "Other names: REGN668; SAR231893; Dupixent"}]
    assert dupilumab["characteristic"] == [{"definitionCodeableConcept": {"text": "Drug: Dupilumab"}}]
    for arm4, arm5 in zip(r4["arm"], r5["comparisonGroup"], strict=True):
        refs4 = [e["valueReference"] for e in arm4.get("extension", [])
                 if e["url"] == xver.url("ResearchStudy.comparisonGroup.intendedExposure")]
        assert refs4 == arm5.get("intendedExposure", [])
