"""The JSON Schema layer: official R4/R5 schemas, readable findings at the element's own path."""

from __future__ import annotations

from typing import Any

import pytest

from fhirconv.validation.findings import Layer
from fhirconv.validation.schema import load_schema, resource_types, schema_findings
from fhirconv.versions import FhirVersion

CLEAN_PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "identifier": [{"system": "urn:example", "value": "1"}],
    "gender": "female",
    "birthDate": "1970-03",
    "name": [{"family": "Doe", "given": ["Jane"]}],
}


@pytest.mark.parametrize("version", list(FhirVersion))
def test_clean_resource_has_no_findings(version: FhirVersion) -> None:
    assert schema_findings(CLEAN_PATIENT, version) == []


def test_shipped_schemas_are_the_official_ones() -> None:
    assert load_schema(FhirVersion.R4)["id"] == "http://hl7.org/fhir/json-schema/4.0"
    assert load_schema(FhirVersion.R5)["id"] == "http://hl7.org/fhir/json-schema/5.0"
    # R5 added resource types that R4 does not know.
    assert "ActorDefinition" in resource_types(FhirVersion.R5)
    assert "ActorDefinition" not in resource_types(FhirVersion.R4)


@pytest.mark.parametrize("version", list(FhirVersion))
def test_defects_in_bundle_entries_are_found_at_their_paths(version: FhirVersion) -> None:
    bad = {**CLEAN_PATIENT, "birthDate": "2020-13-45", "foo": 1, "name": [{"given": "Jane"}]}
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:1", "resource": CLEAN_PATIENT}, {"fullUrl": "urn:uuid:2", "resource": bad}],
    }
    findings = schema_findings(bundle, version)
    assert {(f.expression, f.code) for f in findings} == {
        ("Bundle.entry[1].resource.birthDate", "bad-format"),
        ("Bundle.entry[1].resource.foo", "unknown-element"),
        ("Bundle.entry[1].resource.name[0].given", "wrong-type"),
    }
    assert all(f.layer is Layer.SCHEMA and f.entry == 1 and f.full_url == "urn:uuid:2" for f in findings)
    assert all(f.path.startswith("Patient.") for f in findings)


def test_contained_resources_are_checked_against_their_own_type() -> None:
    obs = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"text": "x"},
        "contained": [{"resourceType": "Patient", "id": "c", "bogus": True}],
    }
    [finding] = schema_findings(obs, FhirVersion.R4)
    assert finding.path == "Observation.contained[0].bogus"
    assert finding.resource_type == "Observation"
    assert finding.resource_id == "o1"


def test_r5_only_resource_type_in_r4_is_reported() -> None:
    [finding] = schema_findings({"resourceType": "ActorDefinition", "status": "draft"}, FhirVersion.R4)
    assert finding.code == "unknown-resource-type"


def test_required_element_path_names_the_missing_element() -> None:
    [finding] = schema_findings({"resourceType": "Observation", "status": "final"}, FhirVersion.R5)
    assert (finding.path, finding.code) == ("Observation.code", "required")


@pytest.mark.parametrize("version", list(FhirVersion))
def test_a_resource_outside_contained_and_entries_is_still_checked(version: FhirVersion) -> None:
    # The fast validators read ResourceList as `false` (see schema._Checker): a resource anywhere else than
    # contained or an entry's resource sends the content to the full schema, which judges it as before.
    def bundle(severity: str) -> dict[str, Any]:
        outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": severity, "code": "processing"}]}
        return {"resourceType": "Bundle", "type": "batch-response",
                "entry": [{"response": {"status": "200", "outcome": outcome}}]}

    from fhirconv.validation.schema import _checker

    assert not _checker(version).is_valid("Bundle", bundle("error"))  # the fast check defers ...
    assert schema_findings(bundle("error"), version) == []  # ... to the full schema
    found = [(f.path, f.code) for f in schema_findings(bundle("bogus"), version)]
    # The full schema's own verdict: R4's reports the root oneOf; R5's lets the bad severity through.
    assert found == ([("Bundle.entry[0].response.outcome", "oneOf")] if version is FhirVersion.R4 else [])
