"""Participant-side code tables and the TS/TA → Study builder."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from fhirconv.mapping.participants.common import code_table
from fhirconv.model.participants import SourceRef, TrialDesign
from fhirconv.readers.trial_design import study_from_design

DATA = Path(__file__).parent / "data" / "participants_map"
SDTM_MAPS = sorted((Path(__file__).resolve().parents[1] / "mappings" / "conceptmaps").glob("sdtm-*.json"))


@pytest.mark.parametrize("path", SDTM_MAPS, ids=lambda p: p.stem)
def test_conceptmap_is_valid_fhir_and_cites_its_source(path: Path) -> None:
    from fhir.resources.conceptmap import ConceptMap

    doc = json.loads(path.read_text(encoding="utf-8"))
    ConceptMap.model_validate(doc)
    assert doc["id"] == path.stem
    assert "http" in doc["description"]  # every code table names where its codes come from
    assert code_table(path.stem)  # loads, non-empty


def test_every_pilot_test_code_and_unit_is_mapped() -> None:
    """CDISCPILOT01 must convert completely: each of its LB/VS test codes and units is in the tables."""
    for name, d, table in (
        ("lb_subset.csv", "LB", "sdtm-lbtestcd-loinc"),
        ("vs_subset.csv", "VS", "sdtm-vstestcd-loinc"),
    ):
        with (DATA / name).open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert {r[f"{d}TESTCD"] for r in rows} <= set(code_table(table))
        units = {r[f"{d}STRESU"] for r in rows} | {r[f"{d}ORRESU"] for r in rows}
        assert units - {"", "NO UNITS"} <= set(code_table("sdtm-unit-ucum"))


def pilot_design() -> TrialDesign:
    params: dict[str, list[str]] = {}
    with (DATA / "ts.csv").open(encoding="utf-8", newline="") as handle:
        for row in sorted(csv.DictReader(handle), key=lambda r: float(r["TSSEQ"])):
            params.setdefault(row["TSPARMCD"], []).append(row["TSVAL"])
    with (DATA / "ta.csv").open(encoding="utf-8", newline="") as handle:
        arms = [(r["ARMCD"], r["ARM"], r["TABRANCH"] or None) for r in csv.DictReader(handle)]
    return TrialDesign("CDISCPILOT01", SourceRef("ts.csv", 1), params, arms)


def test_pilot_design_becomes_a_study() -> None:
    study = study_from_design(pilot_design())
    assert study.nct_id == "CDISCPILOT01"
    assert study.official_title is not None
    assert study.official_title.startswith("Safety and Efficacy of the Xanomeline")
    assert [a.label for a in study.arm_groups] == ["Placebo", "Xanomeline High Dose", "Xanomeline Low Dose"]
    assert study.design.phases == ["PHASE2"]
    assert study.design.masking == "DOUBLE"
    assert study.design.allocation == "RANDOMIZED"
    assert study.design.enrollment is not None
    assert study.design.enrollment.count == 300
    assert study.eligibility.sex == "ALL"
    assert study.eligibility.minimum_age is not None
    assert study.eligibility.minimum_age.value == 50
    assert study.eligibility.maximum_age is None  # "No maximum"
    assert [i.name for i in study.interventions] == ["Xanomeline", "Placebo"]
    assert study.lead_sponsor is not None
    assert study.lead_sponsor.name == "CDISCPILOT01"
    assert study.conditions == ["Mild to Moderate Alzheimer’s Disease"]


def test_registry_id_in_ts_is_used() -> None:
    design = TrialDesign("ABC-1", SourceRef("ts.csv", 1), {"REGID": ["EudraCT 2020-1", "NCT04382547"]}, [])
    study = study_from_design(design)
    assert study.nct_id == "NCT04382547"
    assert study.org_study_id == "ABC-1"
