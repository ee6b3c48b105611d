"""Golden bundles: registry records of every format → R4 and R5 bundles, compared as parsed JSON.

Regenerate after an intended mapping change with FHIRCONV_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fhirconv.output.bundle import dumps
from fhirconv.pipeline.study import convert_study
from fhirconv.readers import read_study
from fhirconv.versions import FhirVersion

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden" / "studies"

CASES = {
    # the reference trial, from its registry page text
    "NCT04382547": DATA / "seed" / "NCT04382547.txt",
    # API v2 JSON with results posted, phase 2, 42 sites
    "NCT02210780": DATA / "ctgov-corpus" / "NCT02210780.json",
    # withdrawn before enrolment (whyStopped, enrollment 0)
    "NCT00973089": DATA / "ctgov-corpus" / "NCT00973089.json",
    # observational registry (no phase, observational model, time perspective)
    "NCT03475563": DATA / "ctgov-corpus" / "NCT03475563.json",
    # 28 arms, classic API JSON
    "NCT05374954": DATA / "ctgov-corpus" / "NCT05374954.classic.json",
    # hundreds of sites (437 locations), phase 3
    "NCT02513394": DATA / "ctgov-corpus" / "NCT02513394.json",
    # legacy XML
    "NCT01207388": DATA / "ctgov-corpus" / "NCT01207388.xml",
}


@pytest.mark.parametrize("version", list(FhirVersion))
@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_bundle(name: str, version: FhirVersion) -> None:
    bundle = convert_study(read_study(CASES[name]), version)
    golden = GOLDEN / f"{name}.{version.value}.json"
    if os.environ.get("FHIRCONV_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(dumps(bundle), encoding="utf-8")
    assert bundle == json.loads(golden.read_text(encoding="utf-8"))


def test_golden_files_have_no_orphans() -> None:
    expected = {f"{n}.{v.value}.json" for n in CASES for v in FhirVersion}
    assert {p.name for p in GOLDEN.glob("*.json")} == expected
