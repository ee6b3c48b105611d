"""Posted results → R5 (EBM on FHIR: Group, EvidenceVariable, Evidence, EvidenceReport) and R4 (the same on R4's
resources, R5 elements as cross-version extensions): concrete values of real corpus records, ids, odd input."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from fhirconv import progress
from fhirconv.mapping.results.ids import RESULT_SYSTEM
from fhirconv.mapping.xver import url as xver_url
from fhirconv.output.bundle import full_url
from fhirconv.pipeline.study import convert_study
from fhirconv.readers import read_study
from fhirconv.readers.ctgov_v2 import read_v2_study
from fhirconv.versions import FhirVersion

CORPUS = Path(__file__).parent / "data" / "ctgov-corpus"
RESULTS_RECORDS = ["NCT00763412", "NCT02210780", "NCT02299791", "NCT02513394", "NCT02552212", "NCT03064438",
                   "NCT04431453", "NCT05594173"]
R4, R5 = FhirVersion.R4, FhirVersion.R5


def _bundle(nct: str, version: FhirVersion) -> dict[str, Any]:
    return convert_study(read_study(CORPUS / f"{nct}.json"), version)


def _results(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Results resources by their business identifier value."""
    out: dict[str, dict[str, Any]] = {}
    for e in bundle["entry"]:
        r = e["resource"]
        ident = r.get("identifier")
        first = ident[0] if isinstance(ident, list) else ident
        if first and first.get("system") == RESULT_SYSTEM:
            assert first["value"] not in out, f"identifier {first['value']} given twice"
            out[first["value"]] = r
    return out


def _ext(resource: dict[str, Any], path: str) -> list[dict[str, Any]]:
    return [e for e in resource.get("extension", []) if e["url"] == xver_url(path)]


def _sub(ext: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [e for e in ext["extension"] if e["url"] == name]


@pytest.fixture(scope="module")
def r5() -> dict[str, dict[str, Any]]:
    return {n: _bundle(n, R5) for n in ("NCT03064438", "NCT04431453")}


@pytest.fixture(scope="module")
def r4() -> dict[str, dict[str, Any]]:
    return {n: _bundle(n, R4) for n in ("NCT03064438", "NCT04431453")}


def test_r5_outcome_measurement_for_a_named_group(r5: dict[str, dict[str, Any]]) -> None:
    res = _results(r5["NCT03064438"])
    ev = res["NCT03064438/outcome/1/OG000"]
    assert ev["title"] == "Change From Baseline in Total Lesion Count at Week 12 — ACU-D1 Ointment"
    roles = [v["variableRole"]["coding"][0]["code"] for v in ev["variableDefinition"]]
    assert roles == ["population", "measuredVariable"]
    group = res["NCT03064438/outcome-group/OG000"]
    assert group["name"] == "ACU-D1 Ointment"
    assert ev["variableDefinition"][0]["observed"]["reference"] == full_url("Group", RESULT_SYSTEM,
                                                                            "NCT03064438/outcome-group/OG000")
    (st,) = ev["statistic"]
    assert st["statisticType"] == {"text": "Least Squares Mean"}
    assert st["quantity"] == {"value": -10.2, "unit": "number of lesions"}
    assert st["sampleSize"] == {"numberOfParticipants": 26}
    (se,) = st["attributeEstimate"]
    assert se["type"]["coding"][0]["code"] == "0000037"  # standard error of the mean (registered "Standard Error")
    assert se["quantity"] == {"value": 1.08, "unit": "number of lesions"}
    var = res["NCT03064438/outcome/1"]
    assert var["resourceType"] == "EvidenceVariable"
    assert var["handling"] == "continuous"
    assert {"text": "Time frame: Baseline, Week 12"} in var["note"]


def test_r5_analysis_p_value_and_ci(r5: dict[str, dict[str, Any]]) -> None:
    an = _results(r5["NCT03064438"])["NCT03064438/outcome/1/analysis/1"]
    roles = [v["variableRole"]["coding"][0]["code"] for v in an["variableDefinition"]]
    assert roles == ["exposure", "referenceExposure", "measuredVariable"]
    (st,) = an["statistic"]
    assert st["statisticType"]["text"] == "Difference of Least Squares (LS) Mean"
    assert st["quantity"] == {"value": 1.8}
    by_code = {e["type"]["coding"][0]["code"]: e for e in st["attributeEstimate"]}
    assert by_code["C44185"]["quantity"] == {"value": 0.366}  # p-value
    ci = by_code["C53324"]
    assert (ci["level"], ci["range"], ci["description"]) == (
        0.95, {"low": {"value": -2.162}, "high": {"value": 5.727}}, "two-sided")
    assert by_code["0000037"]["quantity"] == {"value": 1.95}
    assert st["modelCharacteristic"] == [{"code": {"text": "t-test, 2 sided"}}]


def test_r5_p_value_below_a_bound_is_a_comparator() -> None:
    an = _results(_bundle("NCT02552212", R5))["NCT02552212/outcome/1/analysis/1"]
    p = next(e for e in an["statistic"][0]["attributeEstimate"] if e["type"]["coding"][0]["code"] == "C44185")
    assert p["quantity"] == {"value": 0.001, "comparator": "<"}
    assert an["statistic"][0]["statisticType"]["coding"][0]["code"] == "C16932"  # "Odds Ratio (OR)"


def test_r5_adverse_event_term_counts(r5: dict[str, dict[str, Any]]) -> None:
    res = _results(r5["NCT04431453"])
    term = res["NCT04431453/ae/serious/1"]
    assert term["title"] == "Cardiac failure"
    assert {"text": "Organ system: Cardiac disorders"} in term["note"]
    assert {"text": "Vocabulary: MedDRA 26.0"} in term["note"]
    (st,) = res["NCT04431453/ae/serious/1/EG007"]["statistic"]
    assert (st["numberAffected"], st["sampleSize"]) == (1, {"numberOfParticipants": 5})
    totals = res["NCT04431453/ae/participants-affected/EG000"]["statistic"]
    assert [(s["category"]["text"], s["numberAffected"], s["sampleSize"]["numberOfParticipants"]) for s in totals] == [
        ("All-cause mortality", 2, 12), ("Serious adverse events", 5, 12),
        ("Other (not including serious) adverse events", 11, 12)]


def test_r5_flow_and_baseline(r5: dict[str, dict[str, Any]]) -> None:
    res = _results(r5["NCT04431453"])
    withdrew = res["NCT04431453/flow/1/reason/1/FG001"]
    assert withdrew["title"].startswith("Overall Study: not completed, Withdrew Consent — ")
    assert withdrew["statistic"][0]["numberAffected"] == 1
    baseline = _results(_bundle("NCT02299791", R5))
    age = baseline["NCT02299791/baseline/2/BG000"]["statistic"][0]
    assert age["statisticType"]["coding"][0]["code"] == "C53319"  # mean
    assert age["quantity"] == {"value": 62, "unit": "Years"}
    (rng,) = age["attributeEstimate"]
    assert rng["type"]["coding"][0]["code"] == "C38013"
    assert rng["range"] == {"low": {"value": 18, "unit": "Years"}, "high": {"value": 75, "unit": "Years"}}
    units = baseline["NCT02299791/flow/1/milestone/1/FG000"]["statistic"]
    assert [s["quantity"] for s in units] == [{"value": 2053, "unit": "participants"}, {"value": 6, "unit": "clinics"}]


def test_r5_study_result_points_at_the_report(r5: dict[str, dict[str, Any]]) -> None:
    bundle = r5["NCT04431453"]
    (rs,) = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ResearchStudy"]
    report_url = full_url("EvidenceReport", RESULT_SYSTEM, "NCT04431453/report")
    assert rs["result"] == [{"reference": report_url, "display": "Posted results"}]
    report = _results(bundle)["NCT04431453/report"]
    assert report["relatedIdentifier"] == [{"system": "https://clinicaltrials.gov", "value": "NCT04431453"}]
    assert [s["title"] for s in report["section"]] == [
        "Participant flow", "Baseline characteristics", "Outcome measures", "Adverse events", "More information"]
    more = report["section"][-1]["text"]["div"]
    assert "GileadClinicalTrials@gilead.com" in more
    # every entry of every section resolves inside the bundle
    urls = {e["fullUrl"] for e in bundle["entry"]}

    def refs(sections: list[dict[str, Any]]) -> list[str]:
        out = []
        for s in sections:
            out += [r["reference"] for r in s.get("entryReference", [])]
            out += refs(s.get("section", []))
        return out

    assert set(refs(report["section"])) <= urls


def test_r4_carries_the_same_values(r4: dict[str, dict[str, Any]]) -> None:
    res = _results(r4["NCT03064438"])
    an = res["NCT03064438/outcome/1/analysis/1"]
    (st,) = _ext(an, "Evidence.statistic")
    (estimates) = _sub(st, "attributeEstimate")
    p = next(e for e in estimates if _sub(e, "type")[0]["valueCodeableConcept"]["coding"][0]["code"] == "C44185")
    assert _sub(p, "quantity")[0]["valueQuantity"] == {"value": 0.366}
    assert an["exposureBackground"]["display"] == "ACU-D1 Ointment"
    assert an["exposureVariant"][0]["display"] == "ACU-D1 Ointment Vehicle"
    assert an["outcome"][0]["display"] == "Change From Baseline in Total Lesion Count at Week 12"
    group = res["NCT03064438/outcome-group/OG000"]
    assert group["actual"] is True
    population = res["NCT03064438/outcome-group/OG000/population"]
    assert population["characteristic"][0]["definitionReference"]["display"] == "ACU-D1 Ointment"
    ae = _results(r4["NCT04431453"])["NCT04431453/ae/serious/1/EG007"]
    (st,) = _ext(ae, "Evidence.statistic")
    assert _sub(st, "numberAffected") == [{"url": "numberAffected", "valueUnsignedInt": 1}]
    assert _sub(_sub(st, "sampleSize")[0], "numberOfParticipants")[0]["valueUnsignedInt"] == 5


def test_r4_study_result_extension_points_at_the_composition(r4: dict[str, dict[str, Any]]) -> None:
    bundle = r4["NCT04431453"]
    (rs,) = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ResearchStudy"]
    (result,) = _ext(rs, "ResearchStudy.result")
    assert result["valueReference"]["reference"] == full_url("Composition", RESULT_SYSTEM, "NCT04431453/report")
    comp = _results(bundle)["NCT04431453/report"]
    assert (comp["status"], comp["date"], comp["author"]) == ("final", "2023-12-22", [{"display": "Gilead Sciences"}])


@pytest.mark.parametrize("version", list(FhirVersion))
def test_results_resources_are_keyed_and_stable(version: FhirVersion) -> None:
    first = _bundle("NCT02299791", version)
    again = _bundle("NCT02299791", version)
    assert first == again
    res = _results(first)
    kinds = Counter(r["resourceType"] for r in res.values())
    report = "EvidenceReport" if version is R5 else "Composition"
    assert kinds[report] == 1
    assert kinds["Evidence"] == 28
    for e in first["entry"]:
        r = e["resource"]
        ident = r.get("identifier")
        first_id = ident[0] if isinstance(ident, list) else ident
        if first_id and first_id.get("system") == RESULT_SYSTEM:
            assert e["fullUrl"] == full_url(r["resourceType"], RESULT_SYSTEM, first_id["value"])
            assert e["request"] == {"method": "PUT", "url": f"{r['resourceType']}?identifier={RESULT_SYSTEM}|"
                                    + e["request"]["url"].split("|", 1)[1]}


def test_a_record_without_results_gets_no_results_resources() -> None:
    for version in FhirVersion:
        assert _results(_bundle("NCT00973089", version)) == {}


def _record(nct: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CORPUS / f"{nct}.json").read_bytes())
    return copy.deepcopy(data)


def test_values_for_an_unlisted_group_are_left_out_with_a_counted_warning(capsys: pytest.CaptureFixture[str]) -> None:
    record = _record("NCT03064438")
    m = record["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"][0]
    m["classes"][0]["categories"][0]["measurements"][0]["groupId"] = "OG999"
    m["classes"][0]["categories"][0]["measurements"][1]["value"] = "NA"
    m["classes"][0]["categories"][0]["measurements"][1]["comment"] = "not estimable"
    progress.reset()
    from fhirconv.mapping.results.r5 import map_results_r5

    items, _ = map_results_r5(read_v2_study(record))
    progress.notices.flush()
    err = capsys.readouterr().err
    assert "NCT03064438: outcome measure 1 names group OG999" in err
    values = {i.value: i.resource for i in items}
    assert "NCT03064438/outcome/1/OG999" not in values
    st = values["NCT03064438/outcome/1/OG001"]["statistic"][0]
    assert "quantity" not in st
    assert st["note"] == [{"text": "Value as registered: NA"}, {"text": "not estimable"}]


@pytest.mark.parametrize("version", list(FhirVersion))
def test_odd_results_still_convert(version: FhirVersion) -> None:
    record = _record("NCT05594173")
    rs = record["resultsSection"]
    rs["outcomeMeasuresModule"]["outcomeMeasures"].append({"title": "Only a title"})
    rs["baselineCharacteristicsModule"]["measures"][0]["classes"] = []
    rs["adverseEventsModule"]["eventGroups"][0] = {"id": "EG000"}
    rs["participantFlowModule"]["periods"][0]["milestones"][0]["achievements"][0]["numSubjects"] = None
    bundle = convert_study(read_v2_study(record), version)
    assert "NCT05594173/outcome/3" in _results(bundle) or "NCT05594173/outcome/2" in _results(bundle)


def test_r4_evidence_is_checked_by_the_r4_schema(r4: dict[str, dict[str, Any]]) -> None:
    """R4B's models are not R4's for Evidence and EvidenceVariable (versions.NO_MODEL): the R4 JSON Schema layer
    still refuses an element R4 does not have there."""
    from fhirconv.validation.run import validate_content

    bundle = copy.deepcopy(r4["NCT03064438"])
    assert [f for f in validate_content(bundle, R4) if f.is_error] == []
    for e in bundle["entry"]:
        if e["resource"]["resourceType"] == "Evidence":
            e["resource"]["statistic"] = [{"numberAffected": 1}]  # R5's element, not R4's
            break
    errors = [f for f in validate_content(bundle, R4) if f.is_error]
    assert errors
    assert any("statistic" in f.path or "statistic" in f.message for f in errors)


@pytest.mark.parametrize("version", list(FhirVersion))
def test_repeated_and_absurd_counts_still_give_valid_output(version: FhirVersion) -> None:
    from fhirconv.validation.run import ensure_valid

    record = _record("NCT05594173")
    rs = record["resultsSection"]
    achievements = rs["participantFlowModule"]["periods"][0]["milestones"][0]["achievements"]
    achievements.append(dict(achievements[0]))  # the same group counted twice in one milestone
    achievements[0]["numSubjects"] = "99999999999"  # beyond FHIR unsignedInt
    groups = rs["adverseEventsModule"]["eventGroups"]
    groups.append(dict(groups[0]))
    groups[0]["seriousNumAtRisk"] = -3
    progress.reset()
    bundle = convert_study(read_v2_study(record), version)
    ensure_valid(bundle, version)
    res = _results(bundle)  # also asserts that no identifier is given twice
    started = res["NCT05594173/flow/1/milestone/1/FG000"]
    stats = started["statistic"] if version is R5 else [
        {e["url"]: e for e in s["extension"]} for s in _ext(started, "Evidence.statistic")]
    assert "numberAffected" not in stats[0]
