"""Posted results from legacy XML `<clinical_results>` and classic JSON `ResultsSection` into model.results,
the model the API v2 reader fills: concrete values of corpus records, and the same study read from both
formats gives the same results (NCT00023673, NCT02028676: XML and classic JSON of the same record)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import pytest
from defusedxml.ElementTree import parse

from fhirconv.errors import InputError
from fhirconv.model.results import FlowCount, Results
from fhirconv.readers import read_study
from fhirconv.readers.ctgov_classic_results import classic_to_v2_results, read_classic_results
from fhirconv.readers.ctgov_xml_results import read_xml_results, v2_group_id

CORPUS = Path(__file__).parent / "data" / "ctgov-corpus"
XML_WITH_RESULTS = sorted(p for p in CORPUS.glob("*.xml") if b"<clinical_results>" in p.read_bytes())
CLASSIC = sorted(CORPUS.glob("*.classic.json"))


def _xml(name: str) -> Element:
    root: Element = parse(str(CORPUS / name)).getroot()
    return root


def _classic(name: str) -> dict[str, Any]:
    d = json.loads((CORPUS / name).read_text(encoding="utf-8"))
    if "FullStudiesResponse" in d:
        d = d["FullStudiesResponse"]["FullStudies"][0]
    study: dict[str, Any] = d.get("Study", d)
    return study


CLASSIC_WITH_RESULTS = [p for p in CLASSIC if "ResultsSection" in _classic(p.name)]


def test_corpus_has_the_legacy_results() -> None:
    assert len(XML_WITH_RESULTS) == 22
    assert len(CLASSIC_WITH_RESULTS) == 6
    assert {"NCT00023673.classic.json", "NCT02028676.classic.json"} <= {p.name for p in CLASSIC_WITH_RESULTS}


@pytest.mark.parametrize("path", CLASSIC_WITH_RESULTS, ids=lambda p: p.stem)
def test_every_corpus_classic_result_is_read(path: Path) -> None:
    study = read_study(path)
    results = study.results
    assert results is not None
    assert results.participant_flow is not None
    assert results.participant_flow.groups
    assert results.outcomes
    assert all(o.title for o in results.outcomes)
    assert results.adverse_events is not None
    assert {g.id for g in results.adverse_events.groups} >= {s.group_id for e in results.adverse_events.events
                                                               for s in e.stats}


@pytest.mark.parametrize("path", XML_WITH_RESULTS, ids=lambda p: p.stem)
def test_every_corpus_xml_result_is_read(path: Path) -> None:
    study = read_study(path)
    assert study.has_results is True
    results = study.results
    assert results is not None
    assert results.participant_flow is not None
    assert results.participant_flow.periods
    assert results.outcomes
    assert results.adverse_events is not None
    ids = {g.id for g in results.participant_flow.groups}
    assert ids
    assert all(i.startswith("FG") for i in ids)
    # every count names a group of its section
    for period in results.participant_flow.periods:
        for m in period.milestones:
            assert {a.group_id for a in m.achievements} <= ids


def test_xml_results_concrete_values() -> None:
    r = read_xml_results(_xml("NCT00023673.xml"))
    assert r is not None
    pf = r.participant_flow
    assert pf is not None
    assert (pf.groups[0].id, pf.groups[0].title) == ("FG000", "Phase I: 75.25 Gy/36 fx + Chemotherapy")
    started, completed, not_completed = pf.periods[0].milestones
    assert (started.type, completed.type, not_completed.type) == ("STARTED", "COMPLETED", "NOT COMPLETED")
    assert [(a.group_id, a.num_subjects) for a in started.achievements] == [
        ("FG000", 8), ("FG001", 9), ("FG002", 0), ("FG003", 46)]
    assert [(a.group_id, a.num_subjects) for a in not_completed.achievements][3] == ("FG003", 2)
    assert [d.type for d in pf.periods[0].drop_withdraws] == ["Ineligible / no protocol treatment",
                                                             "Patient withdrew consent"]
    bl = r.baseline
    assert bl is not None
    assert [(c.group_id, c.value) for c in bl.denoms[0].counts][:3] == [("BG000", "8"), ("BG001", "9"), ("BG002", "44")]
    age = bl.measures[0]
    assert (age.title, age.param_type, age.dispersion_type, age.unit) == ("Age", "MEDIAN", "FULL_RANGE", "years")
    m = age.classes[0].categories[0].measurements[0]
    assert (m.group_id, m.value, m.lower_limit, m.upper_limit) == ("BG000", "65.5", "48", "77")
    primary = r.outcomes[0]
    assert (primary.type, primary.reporting_status, primary.param_type) == ("PRIMARY", "POSTED", "NUMBER")
    assert [(c.group_id, c.value) for c in primary.denoms[0].counts] == [("OG000", "7"), ("OG001", "7")]
    ae = r.adverse_events
    assert ae is not None
    g = ae.groups[0]
    # the "Total, serious adverse events" row gives the group's totals, not an event
    assert (g.id, g.serious_num_affected, g.serious_num_at_risk, g.other_num_affected) == ("EG000", 7, 8, 8)
    assert not any(e.term.startswith("Total") for e in ae.events)
    first = ae.events[0]
    assert (first.term, first.serious, first.organ_system, first.source_vocabulary, first.assessment_type) == (
        "Hemoglobin decreased", True, "Blood and lymphatic system disorders", "CTCAE (2.0)",
        "NON_SYSTEMATIC_ASSESSMENT")
    assert [(s.group_id, s.num_affected, s.num_at_risk) for s in first.stats] == [("EG000", 2, 8), ("EG001", 1, 53)]
    info = r.more_info
    assert info is not None
    assert (info.pi_sponsor_employee, info.restrictive_agreement) == (False, False)
    assert info.point_of_contact is not None
    assert info.point_of_contact.organization == "Radiation Therapy Oncology Group"
    assert info.limitations is not None
    assert info.limitations.startswith("This study was originally designed to escalate 3DRT")


def test_xml_flow_comment_and_analysis() -> None:
    r = read_xml_results(_xml("NCT02028676.xml"))
    assert r is not None
    assert r.participant_flow is not None
    started = r.participant_flow.periods[0].milestones[0]
    assert started.achievements[0] == FlowCount(
        "FG000", 606, comment="Factorial randomization at enrolment: Number of eligible children randomized to "
                              "this group in ARROW")
    analysed = [a for o in r.outcomes for a in o.analyses]
    assert analysed
    assert all(gid.startswith("OG") for a in analysed for gid in a.group_ids)
    assert {a.ci_num_sides for a in analysed} <= {"TWO_SIDED", "ONE_SIDED", None}


def test_v2_group_ids() -> None:
    assert [v2_group_id(x, "f") for x in ("P1", "B3", "O10", "E1")] == ["FG000", "BG002", "OG009", "EG000"]
    with pytest.raises(InputError, match="results group id 'X1'"):
        v2_group_id("X1", "clinical_results/participant_flow/group_list/group[0]/@group_id")


def test_classic_results_are_renamed_to_the_v2_shape() -> None:
    section = _classic("NCT00023673.classic.json")["ResultsSection"]
    v2 = classic_to_v2_results(section)
    assert set(v2) == {"participantFlowModule", "baselineCharacteristicsModule", "outcomeMeasuresModule",
                       "adverseEventsModule", "moreInfoModule"}
    group = v2["participantFlowModule"]["groups"][0]
    assert group["id"] == "FG000"
    assert v2["moreInfoModule"]["pointOfContact"]["email"] == "wseiferheld@acr.org"
    analysis = next(a for o in v2["outcomeMeasuresModule"]["outcomeMeasures"] for a in o.get("analyses", []))
    assert "groupIds" in analysis
    assert "pValue" in analysis


def _canonical(r: Results) -> dict[str, Any]:
    """The results as a dict, adverse events in one order (XML lists them by organ system, classic JSON by term)."""
    d = asdict(r)
    d["adverse_events"]["events"].sort(key=lambda e: (not e["serious"], e["organ_system"] or "", e["term"]))
    return d


# What the registry itself changed between the XML it served and the classic API's data model (the 2017 results
# data model: "Age" became "Age, Continuous", "Gender" "Sex: Female, Male", limits of a median "NA" instead of
# absent, testedNonInferiority derived): not reading differences, so left out of the comparison.
# Texts are compared with whitespace runs as one space: the XML served paragraphs one line break apart, the
# classic API two.
_REGISTRY_SIDE = ("baseline", "tested_non_inferiority", "ci_pct_value", "limitations")


def _strip(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _strip(v) for k, v in d.items() if k not in _REGISTRY_SIDE}
    if isinstance(d, list):
        return [_strip(v) for v in d]
    if isinstance(d, str):
        return " ".join(d.split())
    return d


@pytest.mark.parametrize("nct", ["NCT00023673", "NCT02028676"])
def test_xml_and_classic_of_one_study_give_the_same_results(nct: str) -> None:
    xml = read_xml_results(_xml(f"{nct}.xml"))
    classic = read_classic_results(_classic(f"{nct}.classic.json"))
    assert xml is not None
    assert classic is not None
    a, b = _strip(_canonical(xml)), _strip(_canonical(classic))
    assert a["participant_flow"] == b["participant_flow"]
    assert a["outcomes"] == b["outcomes"]
    assert a["adverse_events"] == b["adverse_events"]
    assert xml.baseline is not None
    assert classic.baseline is not None
    assert [g.id for g in xml.baseline.groups] == [g.id for g in classic.baseline.groups]
    assert asdict(xml.baseline)["denoms"] == asdict(classic.baseline)["denoms"]
    # every baseline measurement value agrees, measure by measure, where the registry kept the measure's rows
    for mx, mc in zip(xml.baseline.measures, classic.baseline.measures, strict=True):
        if len(mx.classes) == len(mc.classes):
            vx = [(m.group_id, m.value) for c in mx.classes for cat in c.categories for m in cat.measurements]
            vc = [(m.group_id, m.value) for c in mc.classes for cat in c.categories for m in cat.measurements]
            assert vx == vc, mx.title


def test_classic_study_carries_its_results() -> None:
    study = read_study(CORPUS / "NCT02028676.classic.json")
    assert study.results is not None
    assert study.results.adverse_events is not None
    assert study.results.adverse_events.frequency_threshold == "5"
    assert read_study(CORPUS / "NCT03305341.classic.json").results is None
