"""Every file in mappings/ is valid as what it claims to be: ConceptMaps as FHIR R5 (all offline layers,
not only the models, which let a bad `relationship` code through), specs against our JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fhirconv.validation import validate_content
from fhirconv.versions import FhirVersion

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"


@pytest.mark.parametrize("path", sorted((MAPPINGS / "conceptmaps").glob("*.json")), ids=lambda p: p.name)
def test_conceptmap_is_valid_fhir_r5(path: Path) -> None:
    resource = json.loads(path.read_text(encoding="utf-8"))
    assert resource["resourceType"] == "ConceptMap"
    assert resource["id"] == path.stem
    problems = [f"{f.layer} {f.path}: {f.message}" for f in validate_content(resource, FhirVersion.R5) if f.is_error]
    assert problems == []


@pytest.mark.parametrize("path", sorted((MAPPINGS / "specs").glob("*.yaml")), ids=lambda p: p.name)
def test_column_spec_passes_its_schema_and_the_field_registry(path: Path) -> None:
    from fhirconv.readers.spec import load_spec

    spec = load_spec(path)
    assert spec.tables  # a spec that maps nothing would silently convert nothing
