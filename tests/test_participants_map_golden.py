"""Golden R4/R5 transaction bundles for the synthetic NCT04382547 participant data (study + participants).

The golden files are the example's published outputs, examples/NCT04382547/NCT04382547.<R4|R5>.json (what
`fhirconv convert` writes for the example). Regenerate after an intended mapping change with
FHIRCONV_UPDATE_GOLDEN=1 and review the diff."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import pytest

from fhirconv.output.bundle import build_bundle, dumps
from fhirconv.pipeline.participants import ParticipantSummary, convert_participants
from fhirconv.versions import FhirVersion

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "NCT04382547"


def study() -> Any:
    from fhirconv.readers import read_sources

    (record,) = list(read_sources([str(EXAMPLE / "NCT04382547.txt")]))
    return record.study


def bundle(layout: str, version: FhirVersion, summary: ParticipantSummary | None = None) -> dict[str, Any]:
    from fhirconv.mapping import map_study
    from fhirconv.readers.participants import read_participants

    s = study()
    data = read_participants(EXAMPLE / "participants" / layout)
    items = map_study(s, version) + list(convert_participants(data, s, version, summary=summary))
    return build_bundle(items, kind="transaction", version=version)


def rows(name: str) -> int:
    with (EXAMPLE / "participants" / "sdtm" / name).open(encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.DictReader(handle))


@pytest.mark.parametrize("version", [FhirVersion.R4, FhirVersion.R5])
def test_golden_bundle(version: FhirVersion) -> None:
    from fhirconv.validation.schema import schema_findings

    summary = ParticipantSummary()
    got = bundle("sdtm", version, summary)
    path = EXAMPLE / f"NCT04382547.{version}.json"
    if os.environ.get("FHIRCONV_UPDATE_GOLDEN") == "1":
        path.write_text(dumps(got), encoding="utf-8")
    assert got == json.loads(path.read_text(encoding="utf-8"))
    # Exact counts: one Patient and ResearchSubject per participant, one Observation per result row and
    # one of age per DM row with an AGE, one AdverseEvent per AE row; every row of every file accounted for.
    with (EXAMPLE / "participants" / "sdtm" / "dm.csv").open(encoding="utf-8", newline="") as handle:
        ages = sum(1 for row in csv.DictReader(handle) if row["AGE"].strip())
    assert ages == 32
    results = rows("lb.csv") + rows("vs.csv") + rows("mb.csv") + rows("re.csv") + ages
    assert summary.resources == {
        "Patient": 32,
        "ResearchSubject": 32,
        "Observation": results,
        "AdverseEvent": rows("ae.csv"),
    }
    assert summary.unbalanced() == []
    assert summary.rejections == []
    assert [f for f in schema_findings(got, version) if f.severity == "error"] == []


@pytest.mark.parametrize("version", [FhirVersion.R4, FhirVersion.R5])
def test_sdtm_and_simple_csv_give_the_same_fhir(version: FhirVersion) -> None:
    sdtm = {e["fullUrl"]: e for e in bundle("sdtm", version)["entry"]}
    simple = {e["fullUrl"]: e for e in bundle("simple", version)["entry"]}
    # The same resources; only the order differs (SDTM has a file per domain, the simple layout one).
    assert simple == sdtm
