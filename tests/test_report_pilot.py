"""The CDISC pilot subset (tests/data/participants/pilot) through convert and `fhirconv report`: the AE organ
system (AESOC, else AEBODSYS) reaches AdverseEvent.category in R4 and R5, and the report's organ-system table
holds the counts of the source rows, read back from the FHIR output."""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from report_tables import Tables

from fhirconv.cli import main
from fhirconv.mapping.participants import r4 as map_r4
from fhirconv.mapping.participants import r5 as map_r5
from fhirconv.mapping.participants.common import MEDDRA, Context
from fhirconv.model.study import ArmGroup, Study
from fhirconv.readers.participants import read_participants
from fhirconv.versions import FhirVersion, model_class

PILOT = Path(__file__).parent / "data" / "participants" / "pilot"


def _rows(name: str) -> list[dict[str, str]]:
    with (PILOT / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module", params=["R4", "R5"])
def converted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp("pilot") / f"pilot.{request.param}.ndjson"
    result = CliRunner().invoke(
        main, ["convert", "--participants", str(PILOT), "--fhir-version", request.param, "--format", "ndjson",
               "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    return request.param, out


def _resources(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_organ_system_is_the_adverse_events_category(converted: tuple[str, Path]) -> None:
    _, out = converted
    events = [r for r in _resources(out) if r["resourceType"] == "AdverseEvent"]
    source = {f"{row['USUBJID']}/{int(float(row['AESEQ']))}": row["AESOC"] for row in _rows("ae.csv")}
    assert len(events) == len(source) == 9
    for event in events:
        identifier = event["identifier"]
        key = (identifier[0] if isinstance(identifier, list) else identifier)["value"]
        # The pilot gives the class names, no MedDRA codes: text only.
        assert event["category"] == [{"text": source[key]}], key


def _event(**kw: Any) -> Any:
    from fhirconv.model.participants import AdverseEventRecord, SourceRef

    return AdverseEventRecord(subject_id="S-1", source=SourceRef("ae.csv", 1), term="rash", seq=1, **kw)


@pytest.mark.parametrize(("mod", "version"), [(map_r4, FhirVersion.R4), (map_r5, FhirVersion.R5)])
def test_a_coded_organ_system_is_a_meddra_coding(mod: Any, version: FhirVersion) -> None:
    ctx = Context.for_study(Study(nct_id="NCT04382547", arm_groups=[ArmGroup("a")]))
    event = mod.map_adverse_event(_event(soc="Skin and subcutaneous tissue disorders", soc_code="10040785"), ctx)
    assert event.resource["category"] == [{
        "coding": [{"system": MEDDRA, "code": "10040785", "display": "Skin and subcutaneous tissue disorders"}],
        "text": "Skin and subcutaneous tissue disorders"}]
    model_class(version, "AdverseEvent").model_validate(event.resource)
    assert "category" not in mod.map_adverse_event(_event(), ctx).resource


def test_aebodsys_fills_the_organ_system_when_aesoc_is_blank(tmp_path: Path) -> None:
    for name in ("dm.xpt", "ae.csv"):
        shutil.copy(PILOT / name, tmp_path / name)
    rows = _rows("ae.csv")
    rows[0].update(AESOC="", AESOCCD="", AEBODSYS="BODY SYSTEM ONLY", AEBDSYCD="123")
    rows[1].update(AEBODSYS="ANALYSIS CLASS", AEBDSYCD="456", AESOCCD="10018065")
    with (tmp_path / "ae.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    events = list(read_participants([tmp_path]).adverse_events)
    assert (events[0].soc, events[0].soc_code) == ("BODY SYSTEM ONLY", "123")
    assert (events[1].soc, events[1].soc_code) == (rows[1]["AESOC"], "10018065")  # AESOC, AESOCCD win
    assert events[2].soc == rows[2]["AESOC"]


def test_the_report_counts_adverse_events_by_organ_system(converted: tuple[str, Path], tmp_path: Path) -> None:
    version, out = converted
    page = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", str(out), "-o", str(page), "-q"])
    assert result.exit_code == 0, result.output
    tables = Tables()
    tables.feed(page.read_text(encoding="utf-8"))
    header, *rows = tables.tables["ae-soc"]
    arms = [h.removeprefix("events (").removesuffix(")") for h in header if h.startswith("events (")]
    # The numbers of the source: ae.csv rows by AESOC and the subject's arm in dm.xpt (actual, else planned).
    data = read_participants([PILOT])
    arm_of = {p.subject_id: p.actual_arm or p.arm for p in data.participants}
    events: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in _rows("ae.csv"):
        events[(row["AESOC"], arm_of[row["USUBJID"]])].append(row["USUBJID"])
    assert "(not given)" not in [row[0] for row in rows]
    assert {row[0] for row in rows} == {soc for soc, _ in events}
    for row in rows:
        for i, arm in enumerate(arms):
            subjects = events.get((row[0], arm), [])
            assert (int(row[1 + 3 * i]), int(row[2 + 3 * i])) == (len(subjects), len(set(subjects))), (
                version, row[0], arm)
    assert sum(len(v) for v in events.values()) == 9


def _visit_number(text: str) -> str:
    number = float(text)
    return str(int(number)) if number.is_integer() else repr(number)


def test_the_visit_is_the_observations_encounter(converted: tuple[str, Path]) -> None:
    _, out = converted
    source = {}
    for name, domain in (("lb.csv", "LB"), ("vs.csv", "VS")):
        for row in _rows(name):
            source[f"{row['USUBJID']}/{domain}/{int(float(row[domain + 'SEQ']))}"] = row
    # (The age Observations made from DM.AGE are of no visit: results rows only.)
    observations = [r for r in _resources(out) if r["resourceType"] == "Observation"
                    and not r["identifier"][0]["value"].endswith("/DM/AGE")]
    assert len(observations) == len(source)
    for r in observations:
        row = source[r["identifier"][0]["value"]]
        assert r["encounter"] == {
            "identifier": {"system": "https://fhirconv.dev/fhir/sid/study/CDISCPILOT01/visit",
                           "value": f"{row['USUBJID']}/{_visit_number(row['VISITNUM'])}"},
            "display": row["VISIT"],
        }


def test_the_report_groups_results_by_visit(converted: tuple[str, Path], tmp_path: Path) -> None:
    version, out = converted
    page = tmp_path / "report.html"
    assert CliRunner().invoke(main, ["report", str(out), "-o", str(page), "-q"]).exit_code == 0
    tables = Tables()
    tables.feed(page.read_text(encoding="utf-8"))
    data = read_participants([PILOT])
    arm_of = {p.subject_id: p.actual_arm or p.arm for p in data.participants}
    for name, domain, kind in (("lb.csv", "LB", "laboratory"), ("vs.csv", "VS", "vital-signs")):
        # The numbers of the source: results with a number and a date, by test, arm and visit.
        expected: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
        number_of: dict[str, float] = {}
        for row in _rows(name):
            if row[f"{domain}STRESN"] and row[f"{domain}DTC"]:
                expected[row[f"{domain}TEST"]][(arm_of[row["USUBJID"]], row["VISIT"])] += 1
                number_of[row["VISIT"]] = float(row["VISITNUM"])
        assert expected
        for test, counts in expected.items():
            header, *rows = tables.tables[f"{kind}:{test}"]
            assert header[:3] == ["arm", "visit", "n"], (version, test)
            assert {(arm, visit): int(n) for arm, visit, n, *_ in rows} == counts, (version, test)
            for arm in {arm for arm, *_ in rows}:  # in VISITNUM order within each arm
                order = [number_of[visit] for a, visit, *_ in rows if a == arm]
                assert order == sorted(order), (version, test, arm)


def test_the_report_keeps_summaries_not_resources() -> None:
    """Resources are read one at a time and only their numbers kept (report.data.Gatherer): 50,000
    Observations made on the fly (each with a 2,000-character note, over 100 MB if they were held) pass
    through with a peak of a few tens of MB, most of it the charts."""
    import tracemalloc

    from fhirconv.report import build_report

    def observations() -> Any:
        yield {"resourceType": "ResearchSubject", "id": "rs", "status": "on-study", "actualArm": "A",
               "individual": {"reference": "Patient/p"}, "identifier": [{"value": "S-1"}]}, None
        for i in range(50_000):
            yield {"resourceType": "Observation", "id": f"o{i}", "status": "final",
                   "category": [{"coding": [{"code": "laboratory"}]}], "code": {"text": f"test {i % 2}"},
                   "subject": {"reference": "Patient/p"}, "effectiveDateTime": "2020-01-02",
                   "encounter": {"identifier": {"value": f"S-1/{i % 3}"}, "display": f"WEEK {i % 3}"},
                   "valueQuantity": {"value": i % 97, "unit": "g/L"},
                   "referenceRange": [{"low": {"value": 10}, "high": {"value": 90}}],
                   "note": [{"text": "x" * 2000}]}, None

    tracemalloc.start()
    try:
        _, content = build_report(observations(), source="generated")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert content.counts["Observation"] == 50_000
    assert sum(t["n"] for t in content.tests.values()) == 50_000
    assert peak < 60_000_000, peak
