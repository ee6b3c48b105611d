"""The server layer against HAPI's $validate (or FHIRCONV_TEST_SERVER)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirconv.cli import main
from fhirconv.transport import FhirClient, ServerConfig
from fhirconv.validation.findings import Layer, Severity
from fhirconv.validation.server import server_findings

pytestmark = pytest.mark.server

CORPUS = Path(__file__).parent / "data" / "validate"


def test_clean_bundle_passes_the_server_too(fhir_server: str) -> None:
    result = CliRunner().invoke(main, ["validate", "--server", fhir_server, str(CORPUS / "clean" / "bundle.R4.json")])
    assert result.exit_code == 0, result.output


def test_server_issues_merge_with_ours_at_the_same_element(fhir_server: str, tmp_path: Path) -> None:
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "not-a-date"}
    with FhirClient(ServerConfig(fhir_server)) as client:
        raw = server_findings(patient, client)
    errors = [(f.layer, f.path, f.severity) for f in raw if f.severity is Severity.ERROR]
    assert errors == [(Layer.SERVER, "Patient.birthDate", Severity.ERROR)]
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(patient), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", "--server", fhir_server, "--format", "json", str(path)])
    assert result.exit_code == 1
    [issue] = [i for i in json.loads(result.stdout)["issue"] if i["severity"] == "error"]
    assert issue["expression"] == ["Patient.birthDate"]
    assert "layer=server; also=structure,schema" in issue["diagnostics"]


def test_hapi_bundle_paths_name_the_entry_and_the_element(fhir_server: str) -> None:
    """HAPI writes `Bundle.entry[n].resource/*Type/id*/.path`: the finding names entry n and `Type.path`."""
    bundle = json.loads((CORPUS / "clean" / "bundle.R4.json").read_text())
    target = next(i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == "ResearchStudy")
    bundle["entry"][target]["resource"]["status"] = "not-a-status"
    with FhirClient(ServerConfig(fhir_server)) as client:
        errors = [f for f in server_findings(bundle, client) if f.severity is Severity.ERROR]
    assert errors, "HAPI found nothing wrong with an unknown status code"
    assert {(f.entry, f.path) for f in errors} == {(target, "ResearchStudy.status")}
