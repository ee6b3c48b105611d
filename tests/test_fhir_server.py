"""The test servers (HAPI, R4 and R5) are set up as the tests need: validation and referential integrity on write,
no cached searches, client ids, restarts that keep committed data."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
from hapi_server import HapiServer

from fhirconv.versions import FhirVersion

pytestmark = pytest.mark.server

FHIR_JSON = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
Server = tuple[FhirVersion, str]


def _system() -> str:
    # A fresh identifier system per test keeps tests independent on a shared (or external) server.
    return f"urn:fhirconv-test:{uuid.uuid4().hex}"


def _entry(resource: dict[str, Any], url: str, full_url: str | None = None) -> dict[str, Any]:
    return {
        "fullUrl": full_url or f"urn:uuid:{uuid.uuid4()}",
        "resource": resource,
        "request": {"method": "PUT", "url": url},
    }


def _transaction(base: str, entries: list[dict[str, Any]]) -> requests.Response:
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    return requests.post(base, json=bundle, headers=FHIR_JSON, timeout=60)


def _search(base: str, rtype: str, system: str, value: str) -> list[dict[str, Any]]:
    escaped = value.replace("\\", "\\\\").replace("|", "\\|").replace(",", "\\,").replace("$", "\\$")
    resp = requests.get(f"{base}/{rtype}", params={"identifier": f"{system}|{escaped}"}, timeout=30)
    assert resp.status_code == 200
    return [e["resource"] for e in resp.json().get("entry", [])]


def _patient_and_obs(system: str, pid: str = "P|1") -> list[dict[str, Any]]:
    p_url = f"urn:uuid:{uuid.uuid4()}"
    pid_escaped = pid.replace("|", "\\|")
    return [
        _entry(
            {"resourceType": "Patient", "identifier": [{"system": system, "value": pid}]},
            f"Patient?identifier={system}|{pid_escaped}",
            p_url,
        ),
        _entry(
            {
                "resourceType": "Observation",
                "identifier": [{"system": system, "value": "O1"}],
                "status": "final",
                "code": {"text": "weight"},
                "subject": {"reference": p_url},
                "valueQuantity": {"value": 70.5, "unit": "kg"},
            },
            f"Observation?identifier={system}|O1",
        ),
    ]


def test_metadata_is_a_capability_statement_of_the_version_with_transactions(any_server: Server) -> None:
    version, base = any_server
    cs = requests.get(f"{base}/metadata", headers=FHIR_JSON, timeout=30).json()
    assert cs["resourceType"] == "CapabilityStatement"
    assert cs["fhirVersion"] == version.number
    codes = {i["code"] for rest in cs["rest"] for i in rest.get("interaction", [])}
    assert "transaction" in codes


def test_transaction_creates_then_reports_updates_without_duplicates(any_server: Server) -> None:
    _, fhir_server = any_server
    system = _system()
    first = _transaction(fhir_server, _patient_and_obs(system))
    assert first.status_code == 200, first.text
    statuses = [e["response"]["status"] for e in first.json()["entry"]]
    assert [s.split()[0] for s in statuses] == ["201", "201"]
    second = _transaction(fhir_server, _patient_and_obs(system))
    assert second.status_code == 200, second.text
    assert [e["response"]["status"].split()[0] for e in second.json()["entry"]] == ["200", "200"]
    patients = _search(fhir_server, "Patient", system, "P|1")
    observations = _search(fhir_server, "Observation", system, "O1")
    assert len(patients) == 1
    assert len(observations) == 1
    # The urn:uuid placeholder became a literal reference to the server's Patient.
    assert observations[0]["subject"]["reference"] == f"Patient/{patients[0]['id']}"


def test_invalid_resource_is_rejected_and_nothing_is_written(any_server: Server) -> None:
    _, fhir_server = any_server
    system = _system()
    entries = _patient_and_obs(system)
    entries[0]["resource"]["birthDate"] = "not-a-date"
    resp = _transaction(fhir_server, entries)
    assert resp.status_code == 422  # HAPI's request validation answers before the parser would (400)
    assert resp.json()["resourceType"] == "OperationOutcome"
    assert "not-a-date" in resp.text
    assert _search(fhir_server, "Observation", system, "O1") == []
    assert _search(fhir_server, "Patient", system, "P|1") == []


def test_dangling_reference_is_rejected_atomically(any_server: Server) -> None:
    _, fhir_server = any_server
    system = _system()
    entries = _patient_and_obs(system)
    entries[1]["resource"]["subject"] = {"reference": "Patient/fc-does-not-exist"}
    resp = _transaction(fhir_server, entries)
    assert resp.status_code in (400, 404, 422)
    assert _search(fhir_server, "Patient", system, "P|1") == []


def test_conditional_reference_resolves_to_the_one_match(any_server: Server) -> None:
    _, fhir_server = any_server
    system = _system()
    assert _transaction(fhir_server, _patient_and_obs(system)[:1]).status_code == 200
    obs = _patient_and_obs(system)[1]
    obs["resource"]["subject"] = {"reference": f"Patient?identifier={system}|P\\|1"}
    resp = _transaction(fhir_server, [obs])
    assert resp.status_code == 200, resp.text
    patient = _search(fhir_server, "Patient", system, "P|1")[0]
    assert _search(fhir_server, "Observation", system, "O1")[0]["subject"]["reference"] == f"Patient/{patient['id']}"


def test_client_ids_create_with_201_and_numeric_ids_are_refused(any_server: Server) -> None:
    _, fhir_server = any_server
    patient = {"resourceType": "Patient", "identifier": [{"system": _system(), "value": "x"}]}
    pid = f"fc-{uuid.uuid4().hex}"
    resp = requests.put(f"{fhir_server}/Patient/{pid}", json={**patient, "id": pid}, headers=FHIR_JSON, timeout=30)
    assert resp.status_code == 201
    again = requests.put(f"{fhir_server}/Patient/{pid}", json={**patient, "id": pid}, headers=FHIR_JSON, timeout=30)
    assert again.status_code == 200
    numeric = "98765432101"
    refused = requests.put(
        f"{fhir_server}/Patient/{numeric}", json={**patient, "id": numeric}, headers=FHIR_JSON, timeout=30
    )
    assert refused.status_code == 400


def test_large_conditional_transactions_are_accepted(any_server: Server) -> None:
    _, fhir_server = any_server
    system = _system()
    entries = [
        _entry(
            {"resourceType": "Patient", "identifier": [{"system": system, "value": f"P{i}"}]},
            f"Patient?identifier={system}|P{i}",
        )
        for i in range(60)
    ]
    resp = _transaction(fhir_server, entries)
    assert resp.status_code == 200, resp.text[:500]
    assert len(resp.json()["entry"]) == 60


def test_restart_keeps_committed_transactions(restartable_server: HapiServer) -> None:
    local_server = restartable_server
    system = _system()
    assert _transaction(local_server.base_url, _patient_and_obs(system)).status_code == 200
    local_server.restart()
    assert len(_search(local_server.base_url, "Patient", system, "P|1")) == 1
    assert len(_search(local_server.base_url, "Observation", system, "O1")) == 1
    # Server-assigned ids continue after the highest one in the database, so nothing is overwritten.
    assert _transaction(local_server.base_url, _patient_and_obs(system, pid="P2")).status_code == 200
    assert len(_search(local_server.base_url, "Patient", system, "P|1")) == 1


def test_validate_operation_reports_structural_errors(any_server: Server) -> None:
    _, fhir_server = any_server
    bad = requests.post(
        f"{fhir_server}/Patient/$validate",
        json={"resourceType": "Patient", "birthDate": "not-a-date"},
        headers=FHIR_JSON,
        timeout=30,
    )
    assert bad.status_code == 422  # $validate on HAPI 8: 422 with the OperationOutcome for an invalid resource
    assert any(i["severity"] == "error" for i in bad.json()["issue"])
    good = requests.post(f"{fhir_server}/Patient/$validate", json={"resourceType": "Patient"}, headers=FHIR_JSON)
    assert good.status_code == 200
    assert not [i for i in good.json()["issue"] if i["severity"] in ("error", "fatal")]
