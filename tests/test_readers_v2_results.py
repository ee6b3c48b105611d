"""API v2 resultsSection → model.results: real corpus records value by value; odd and broken content."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from fhirconv.errors import InputError
from fhirconv.model.results import Analysis, EventStats, FlowCount, Measurement
from fhirconv.readers.ctgov_v2 import read_v2_study
from fhirconv.readers.results_vocab import result_enum

CORPUS = Path(__file__).parent / "data" / "ctgov-corpus"
RESULTS_RECORDS = ["NCT00763412", "NCT02210780", "NCT02299791", "NCT02513394", "NCT02552212", "NCT03064438",
                   "NCT04431453", "NCT05594173"]


def _load(nct: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CORPUS / f"{nct}.json").read_bytes())
    return data


def test_the_corpus_records_with_results_are_the_listed_ones() -> None:
    with_results = sorted(p.stem for p in CORPUS.glob("NCT*.json")
                          if not p.name.endswith(".classic.json") and "resultsSection" in json.loads(p.read_bytes()))
    assert with_results == RESULTS_RECORDS


@pytest.mark.parametrize("nct", RESULTS_RECORDS)
def test_every_results_record_reads_every_table(nct: str) -> None:
    raw = _load(nct)["resultsSection"]
    r = read_v2_study(_load(nct)).results
    assert r is not None
    assert r.participant_flow
    assert r.baseline
    assert r.adverse_events
    assert r.more_info
    assert len(r.outcomes) == len(raw["outcomeMeasuresModule"]["outcomeMeasures"])
    ae = raw["adverseEventsModule"]
    assert len(r.adverse_events.events) == len(ae.get("seriousEvents", [])) + len(ae.get("otherEvents", []))
    assert sum(e.serious for e in r.adverse_events.events) == len(ae.get("seriousEvents", []))
    assert len(r.baseline.measures) == len(raw["baselineCharacteristicsModule"]["measures"])


def test_a_record_without_results_has_none() -> None:
    assert read_v2_study(_load("NCT00973089")).results is None


def test_pallas_outcome_analysis_and_adverse_events() -> None:
    r = read_v2_study(_load("NCT02513394")).results
    assert r is not None
    assert r.adverse_events is not None
    idfs = r.outcomes[0]
    assert (idfs.type, idfs.title) == ("PRIMARY", "Invasive Disease Free Survival (iDFS)")
    a = idfs.analyses[0]
    assert (a.group_ids, a.p_value, a.statistical_method, a.param_type, a.param_value) == (
        ["OG000", "OG001"], "0.65", "Log Rank", "Hazard Ratio (HR)", "0.96")
    assert (a.ci_pct_value, a.ci_num_sides, a.ci_lower_limit, a.ci_upper_limit) == ("95", "TWO_SIDED", "0.81", "1.14")
    assert a.non_inferiority_type == "OTHER"
    assert len(r.adverse_events.events) == 2029


def test_outcome_prose_dispersion_is_normalised_and_analysis_dispersion_kept() -> None:
    r = read_v2_study(_load("NCT03064438")).results
    assert r is not None
    lesions = r.outcomes[0]
    assert lesions.title == "Change From Baseline in Total Lesion Count at Week 12"
    assert (lesions.param_type, lesions.dispersion_type, lesions.unit) == (
        "LEAST_SQUARES_MEAN", "STANDARD_ERROR", "number of lesions")  # registered as "Standard Error"
    a: Analysis = lesions.analyses[0]
    assert (a.p_value, a.dispersion_type, a.dispersion_value, a.ci_lower_limit) == (
        "0.366", "STANDARD_ERROR_OF_MEAN", "1.95", "-2.162")


def test_remdesivir_flow_baseline_and_event_counts() -> None:
    r = read_v2_study(_load("NCT04431453")).results
    assert r is not None
    assert r.participant_flow
    assert r.adverse_events
    assert r.baseline
    withdrew = r.participant_flow.periods[0].drop_withdraws[0]
    assert withdrew.type == "Withdrew Consent"
    assert withdrew.reasons[1] == FlowCount("FG001", 1)
    eg = r.adverse_events.groups[0]
    assert (eg.id, eg.deaths_num_affected, eg.deaths_num_at_risk, eg.serious_num_affected, eg.other_num_affected) == (
        "EG000", 2, 12, 5, 11)
    failure = r.adverse_events.events[0]
    assert (failure.term, failure.organ_system, failure.source_vocabulary) == (
        "Cardiac failure", "Cardiac disorders", "MedDRA 26.0")
    assert (failure.assessment_type, failure.serious) == ("SYSTEMATIC_ASSESSMENT", True)
    assert failure.stats[7] == EventStats("EG007", None, 1, 5)
    teae = r.outcomes[0]
    assert teae.classes[0].categories[0].measurements[0] == Measurement("OG000", "91.7")
    assert r.adverse_events.frequency_threshold == "5"


def test_flow_units_and_baseline_range() -> None:
    r = read_v2_study(_load("NCT02299791")).results
    assert r is not None
    assert r.participant_flow
    assert r.baseline
    assert r.participant_flow.type_units_analyzed == "Clinics"
    started = r.participant_flow.periods[0].milestones[0]
    assert started.type == "STARTED"
    assert started.achievements[0] == FlowCount("FG000", 2053, 6)
    age = r.baseline.measures[1]
    assert (age.title, age.param_type, age.dispersion_type) == ("Age, Continuous", "MEAN", "FULL_RANGE")
    assert age.classes[0].categories[0].measurements[0] == Measurement("BG000", "62", None, "18", "75")


def test_more_info_agreements_and_contact() -> None:
    r = read_v2_study(_load("NCT04431453")).results
    assert r is not None
    assert r.more_info
    assert r.more_info.point_of_contact
    assert (r.more_info.restrictive_agreement, r.more_info.restriction_type) == (True, "OTHER")
    assert r.more_info.point_of_contact.email == "GileadClinicalTrials@gilead.com"
    assert r.more_info.agreement_other_details
    assert "Gilead" in r.more_info.agreement_other_details


@pytest.mark.parametrize(("kind", "text", "expected"), [
    ("dispersion_type", "95% Confidence Interval", "CONFIDENCE_95"),
    ("dispersion_type", "Inter-Quartile Range", "INTER_QUARTILE_RANGE"),
    ("param_type", "Count of Participants", "COUNT_OF_PARTICIPANTS"),
    ("ci_sides", "2-Sided", "TWO_SIDED"),
    ("outcome_type", "Other Pre-specified", "OTHER_PRE_SPECIFIED"),
    ("assessment_type", "Non-systematic Assessment", "NON_SYSTEMATIC_ASSESSMENT"),
    ("dispersion_type", "  a new kind of spread ", "a new kind of spread"),  # unknown: kept as typed
    ("param_type", "  ", None),
])
def test_result_vocabulary(kind: str, text: str, expected: str | None) -> None:
    assert result_enum(kind, text) == expected


def _mutate(path: list[Any], value: Any) -> InputError:
    record = copy.deepcopy(_load("NCT03064438"))
    node: Any = record["resultsSection"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(InputError) as info:
        read_v2_study(record)
    return info.value


def test_broken_results_name_the_field() -> None:
    err = _mutate(["outcomeMeasuresModule", "outcomeMeasures", 0, "classes", 0, "categories", 0, "measurements", 0,
                   "groupId"], None)
    assert err.field == "resultsSection.outcomeMeasuresModule.outcomeMeasures[0].classes[0].categories[0]" \
                        ".measurements[0].groupId"
    err = _mutate(["adverseEventsModule", "eventGroups", 0, "seriousNumAffected"], "many")
    assert err.field == "resultsSection.adverseEventsModule.eventGroups[0].seriousNumAffected"
    err = _mutate(["participantFlowModule", "periods"], {"title": "x"})
    assert err.field == "resultsSection.participantFlowModule.periods"
    err = _mutate(["adverseEventsModule", "otherEvents", 0, "term"], " ")
    assert err.field == "resultsSection.adverseEventsModule.otherEvents[0].term"


def test_empty_or_partial_results_section_reads() -> None:
    record = copy.deepcopy(_load("NCT03064438"))
    record["resultsSection"] = {"outcomeMeasuresModule": {"outcomeMeasures": [{"title": "Only a title"}]}}
    r = read_v2_study(record).results
    assert r is not None
    assert r.participant_flow is None
    assert r.adverse_events is None
    assert r.outcomes[0].title == "Only a title"
    assert r.outcomes[0].groups == []
