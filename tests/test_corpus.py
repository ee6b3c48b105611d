"""Every record of the ClinicalTrials.gov corpus converts to R4 and R5 that passes every offline layer
(fhir.resources models, official JSON Schema, terminology, invariants, bundle integrity)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fhirconv.model.study import StudyRecord
from fhirconv.pipeline.study import map_study, to_bundle
from fhirconv.readers import read_sources
from fhirconv.validation import validate_content
from fhirconv.versions import FhirVersion

CORPUS = Path(__file__).parent / "data" / "ctgov-corpus"


@pytest.fixture(scope="module")
def records() -> list[StudyRecord]:
    read = list(read_sources([str(CORPUS)]))
    failures = [f"{r.source}: {r.error}" for r in read if not isinstance(r, StudyRecord)]
    assert failures == []
    return [r for r in read if isinstance(r, StudyRecord)]


def test_corpus_is_all_there(records: list[StudyRecord]) -> None:
    # 17 full + 20 partial v2 files, 205 classic files, 67 XML files, plus the studies inside pages.
    assert len(records) == 539
    assert {r.format for r in records} == {"ctgov-v2", "ctgov-classic", "ctgov-xml"}


@pytest.mark.parametrize("version", list(FhirVersion))
def test_every_record_converts_to_valid_fhir(records: list[StudyRecord], version: FhirVersion) -> None:
    problems: list[str] = []
    for record in records:
        bundle = to_bundle(map_study(record.study, version), version)
        problems += [
            f"{record.source}#{record.index}: {f.layer} {f.path}: {f.message}"
            for f in validate_content(bundle, version)
            if f.is_error
        ]
    assert problems == []
