"""EX → MedicationAdministration, CM → MedicationStatement, MH → Condition (R4 and R5), on the CDISC
pilot's rows (tests/data/participants/pilot/{ex,cm,mh}.csv). Goldens are compared as parsed JSON;
regenerate after an intended mapping change with FHIRCONV_UPDATE_GOLDEN=1 and review the diff."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from fhirconv.errors import UsageError
from fhirconv.mapping.participants.common import RESEARCH_STUDY
from fhirconv.output.bundle import build_bundle
from fhirconv.pipeline.domains import EVENT_DOMAINS, Domain
from fhirconv.pipeline.study import convert_with_participants
from fhirconv.validation.run import validate_content
from fhirconv.versions import FhirVersion

DATA = Path(__file__).parent / "data"
PILOT = DATA / "participants" / "pilot"
GOLDEN = DATA / "participants" / "golden"  # (not tests/data/golden: those are whole FHIR documents)
NEW = ("MedicationAdministration", "MedicationStatement", "Condition")


def _run(version: FhirVersion) -> tuple[list[Any], Any]:
    run = convert_with_participants(None, [PILOT], version)
    items = list(run.items)
    return items, run.summary


@pytest.fixture(scope="module", params=[FhirVersion.R4, FhirVersion.R5], ids=["R4", "R5"])
def converted(request: pytest.FixtureRequest) -> tuple[FhirVersion, list[Any], Any]:
    items, summary = _run(request.param)
    return request.param, items, summary


def test_golden_new_domains(converted: tuple[FhirVersion, list[Any], Any]) -> None:
    version, items, _ = converted
    got = [i.resource for i in items if i.resource_type in NEW]
    path = GOLDEN / f"pilot-interventions.{version.value}.json"
    if os.environ.get("FHIRCONV_UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert got == json.loads(path.read_text(encoding="utf-8"))


def test_every_row_converted_and_valid(converted: tuple[FhirVersion, list[Any], Any]) -> None:
    version, items, summary = converted
    assert summary.rejections == []
    assert summary.unbalanced() == []
    for name, rows in (("ex.csv", 8), ("cm.csv", 109), ("mh.csv", 39)):
        assert (summary.files[name].read, summary.files[name].converted) == (rows, rows)
    assert {t: summary.resources[t] for t in NEW} == {
        "MedicationAdministration": 8,
        "MedicationStatement": 109,
        "Condition": 39,
    }
    bundle = build_bundle(items, kind="transaction", version=version)
    errors = [f for f in validate_content(bundle, version) if f.severity == "error"]
    assert errors == []


def test_exposure_elements(converted: tuple[FhirVersion, list[Any], Any]) -> None:
    version, items, _ = converted
    ex = next(i.resource for i in items if i.resource_type == "MedicationAdministration")
    drug = ex["medicationCodeableConcept"] if version is FhirVersion.R4 else ex["medication"]["concept"]
    assert drug == {"text": "PLACEBO"}
    when = "effectivePeriod" if version is FhirVersion.R4 else "occurencePeriod"
    assert ex[when] == {"start": "2014-01-02", "end": "2014-01-16"}
    assert ex["dosage"]["dose"] == {"value": 0.0, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}
    assert ex["dosage"]["route"]["text"] == "TRANSDERMAL"
    assert ex["supportingInformation"][0]["reference"].startswith("urn:uuid:")  # the ResearchSubject: its arm
    assert ex["extension"][0]["url"] == RESEARCH_STUDY


def test_condition_has_no_study_extension(converted: tuple[FhirVersion, list[Any], Any]) -> None:
    version, items, _ = converted
    conditions = [i.resource for i in items if i.resource_type == "Condition"]
    assert all("extension" not in c for c in conditions)  # HAPI refuses workflow-researchStudy on Condition
    palpitations = next(c for c in conditions if c["code"]["text"] == "VERBATIM_0135")
    assert palpitations["category"] == [{"text": "SIGNIFICANT PRE-EXISTING CONDITION"}]
    if version is FhirVersion.R5:
        assert all("clinicalStatus" in c for c in conditions)  # 1..1 in R5


def test_medication_statement_status_by_version(converted: tuple[FhirVersion, list[Any], Any]) -> None:
    version, items, _ = converted
    statements = [i.resource for i in items if i.resource_type == "MedicationStatement"]
    statuses = {s["status"] for s in statements}
    assert statuses <= ({"active", "completed", "unknown"} if version is FhirVersion.R4 else {"recorded"})
    aspirin = next(s for s in statements if s["identifier"][0]["value"] == "01-701-1015/1")
    assert aspirin["note"] == [
        {"text": "Standardized name (CMDECOD): ACETYLSALICYLIC ACID"},
        {"text": "Drug class (CMCLAS): NERVOUS SYSTEM"},
    ]
    assert aspirin["effectiveDateTime"] == "2003"


def test_registry_fails_on_a_version_it_has_no_mapper_for() -> None:
    ae = EVENT_DOMAINS[0]
    only_r4 = Domain(ae.record, ae.record_class, ae.resource_type, {FhirVersion.R4: ae.mapper(FhirVersion.R4)})
    with pytest.raises(UsageError, match="no AdverseEvent mapping for FHIR R5"):
        only_r4.mapper(FhirVersion.R5)
    assert [d.resource_type for d in EVENT_DOMAINS] == ["AdverseEvent", *NEW]
