"""`fhirconv verify`: finds what is missing, duplicated or different on a real server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner, Result
from push_sample import new_system, study_bundle, write_bundle

from fhirconv.cli import main
from fhirconv.errors import ExitCode
from fhirconv.push.verify import difference

pytestmark = pytest.mark.server
FHIR_JSON = {"Content-Type": "application/fhir+json"}


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={}, catch_exceptions=False)


def verify_json(bundle: Path, server: str) -> tuple[int, dict[str, Any]]:
    result = run("verify", str(bundle), "--server", server, "--format", "json", "--batch-size", "7")
    return result.exit_code, json.loads(result.stdout)


def pushed(server: str, tmp_path: Path, **kwargs: int) -> tuple[str, Path, dict[str, Any]]:
    system = new_system()
    data = study_bundle(system, **kwargs)
    bundle = write_bundle(tmp_path / "study.json", data)
    assert run("push", str(bundle), "--server", server).exit_code == 0
    return system, bundle, data


def find(server: str, rtype: str, system: str, value: str) -> dict[str, Any]:
    escaped = value.replace("|", "\\|")
    body = requests.get(f"{server}/{rtype}", params={"identifier": f"{system}|{escaped}"}, timeout=30).json()
    return dict(body["entry"][0]["resource"])


def test_verify_reports_missing_entries(fhir_server: str, tmp_path: Path) -> None:
    system, bundle, data = pushed(fhir_server, tmp_path, participants=1)
    extra = study_bundle(system, participants=2)["entry"]
    data["entry"] = extra  # participant 0001 was never pushed
    write_bundle(bundle, data)
    code, report = verify_json(bundle, fhir_server)
    assert code == ExitCode.PARTIAL
    assert report["totals"]["missing"] == 5
    missing = {p["identifier"] for p in report["problems"]}
    assert f"{system}|SUBJ|0001" in missing
    assert report["byResourceType"]["AdverseEvent"] == {"ok": 1, "missing": 1, "duplicated": 0, "different": 0}


def test_verify_reports_duplicates(fhir_server: str, tmp_path: Path) -> None:
    system, bundle, _ = pushed(fhir_server, tmp_path, participants=1)
    copy = find(fhir_server, "Observation", system, "OBS-SUBJ|0000-1")
    del copy["id"], copy["meta"]
    assert requests.post(f"{fhir_server}/Observation", json=copy, headers=FHIR_JSON, timeout=30).status_code == 201
    code, report = verify_json(bundle, fhir_server)
    assert code == ExitCode.PARTIAL
    assert [(p["problem"], p["identifier"]) for p in report["problems"]] == [
        ("duplicated", f"{system}|OBS-SUBJ|0000-1")
    ]
    # A push now refuses to pick one of the two (412), and says so against that entry.
    push = run("push", str(bundle), "--server", fhir_server, "--format", "json")
    assert push.exit_code == ExitCode.PARTIAL  # the study-level chunk still landed
    causes = [f for f in json.loads(push.stdout)["failures"] if f["cause"]]
    assert causes[0]["identifier"] == f"{system}|OBS-SUBJ|0000-1"
    assert "412" in causes[0]["message"]


def test_verify_reports_changed_content_and_wrong_references(fhir_server: str, tmp_path: Path) -> None:
    system, bundle, _ = pushed(fhir_server, tmp_path, participants=2)
    obs = find(fhir_server, "Observation", system, "OBS-SUBJ|0000-0")
    obs["valueQuantity"]["value"] = 1.25
    url = f"{fhir_server}/Observation/{obs['id']}"
    assert requests.put(url, json=obs, headers=FHIR_JSON, timeout=30).status_code == 200
    other = find(fhir_server, "Patient", system, "SUBJ|0001")
    subject = find(fhir_server, "ResearchSubject", system, "RS-SUBJ|0000")
    subject["individual"] = {"reference": f"Patient/{other['id']}"}
    url = f"{fhir_server}/ResearchSubject/{subject['id']}"
    assert requests.put(url, json=subject, headers=FHIR_JSON, timeout=30).status_code == 200
    code, report = verify_json(bundle, fhir_server)
    assert code == ExitCode.PARTIAL
    details = {p["identifier"]: p["detail"] for p in report["problems"]}
    assert set(details) == {f"{system}|OBS-SUBJ|0000-0", f"{system}|RS-SUBJ|0000"}
    assert "valueQuantity.value" in details[f"{system}|OBS-SUBJ|0000-0"]
    assert "individual.reference" in details[f"{system}|RS-SUBJ|0000"]
    # Pushing again repairs both, and verify agrees.
    assert run("push", str(bundle), "--server", fhir_server).exit_code == 0
    assert verify_json(bundle, fhir_server)[0] == 0


def test_difference_ignores_id_and_meta_only_at_the_top() -> None:
    expected = {"resourceType": "Patient", "name": [{"text": "A"}], "contained": [{"id": "x"}]}
    actual = {**expected, "id": "7", "meta": {"versionId": "2"}}
    assert difference(expected, actual) is None
    assert (
        difference(expected, {**actual, "contained": [{"id": "y"}]}) == 'contained[0].id (expected "x", server has "y")'
    )
    assert difference({"a": 1.0}, {"a": 1}) is None
    assert difference({"a": True}, {"a": 1}) is not None
    assert difference({"a": [1, 2]}, {"a": [1]}) == "a (2 items expected, 1 on the server)"
