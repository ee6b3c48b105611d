"""`fhirconv push` against real HAPI FHIR (R4 and R5): idempotency, chunking, rejections, capability checks, auth."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner, Result
from fault_proxy import Fault, FaultProxy
from push_sample import new_system, study_bundle, write_bundle

from fhirconv.cli import main
from fhirconv.errors import ExitCode

pytestmark = pytest.mark.server

def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env or {}, catch_exceptions=False)


def push_json(path: Path, server: str, *extra: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    result = run("push", str(path), "--server", server, "--format", "json", *extra, env=env)
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else {}


def count_on_server(server: str, rtype: str, system: str, value: str) -> int:
    escaped = value.replace("\\", "\\\\").replace("|", "\\|").replace(",", "\\,").replace("$", "\\$")
    body = requests.get(f"{server}/{rtype}", params={"identifier": f"{system}|{escaped}"}, timeout=30).json()
    return len(body.get("entry", []))


def test_pushing_twice_leaves_one_copy_of_each_resource(fhir_server: str, tmp_path: Path) -> None:
    system = new_system()
    bundle = write_bundle(tmp_path / "study.json", study_bundle(system, participants=3))
    n = len(json.loads(bundle.read_text())["entry"])

    code, first = push_json(bundle, fhir_server)
    assert code == 0, first
    assert first["totals"] == {"created": n, "updated": 0, "unchanged": 0, "failed": 0}
    assert first["byResourceType"]["Observation"]["created"] == 6

    code, second = push_json(bundle, fhir_server)
    assert code == 0, second
    assert second["totals"] == {"created": 0, "updated": 0, "unchanged": n, "failed": 0}

    for rtype, value in [
        ("ResearchStudy", "NCT00000001"),
        ("Patient", "SUBJ|0001"),
        ("Observation", "OBS-SUBJ|0002-1"),
    ]:
        assert count_on_server(fhir_server, rtype, system, value) == 1
    verified = run("verify", str(bundle), "--server", fhir_server, "--format", "json")
    assert verified.exit_code == 0, verified.stdout
    assert json.loads(verified.stdout)["totals"]["ok"] == n


def test_small_chunks_with_workers_resolve_references_across_chunks(fhir_server: str, tmp_path: Path) -> None:
    system = new_system()
    bundle = write_bundle(tmp_path / "study.json", study_bundle(system, participants=6, observations=3))
    code, report = push_json(bundle, fhir_server, "--batch-size", "5", "--workers", "3")
    assert code == 0, report
    assert report["chunks"]["total"] > 6  # study chunk, then participants (6 entries each) split over chunks
    study = requests.get(
        f"{fhir_server}/ResearchStudy", params={"identifier": f"{system}|NCT00000001"}, timeout=30
    ).json()["entry"][0]["resource"]
    subjects = requests.get(
        f"{fhir_server}/ResearchSubject", params={"identifier": f"{system}|RS-SUBJ\\|0005"}, timeout=30
    ).json()["entry"]
    assert subjects[0]["resource"]["study"]["reference"] == f"ResearchStudy/{study['id']}"
    assert run("verify", str(bundle), "--server", fhir_server).exit_code == 0
    # Again with other chunk boundaries: still one copy each, nothing changed.
    code, again = push_json(bundle, fhir_server, "--batch-size", "7", "--workers", "2")
    assert code == 0
    assert again["totals"]["unchanged"] == again["totals"]["created"] + again["totals"]["unchanged"]
    assert count_on_server(fhir_server, "Patient", system, "SUBJ|0003") == 1


def test_changed_content_is_reported_as_updated(fhir_server: str, tmp_path: Path) -> None:
    system = new_system()
    data = study_bundle(system, participants=1)
    bundle = write_bundle(tmp_path / "study.json", data)
    assert push_json(bundle, fhir_server)[0] == 0
    for entry in data["entry"]:
        if entry["resource"]["resourceType"] == "Observation":
            entry["resource"]["valueQuantity"]["value"] = 99.5
    write_bundle(bundle, data)
    code, report = push_json(bundle, fhir_server)
    assert code == 0
    assert report["byResourceType"]["Observation"] == {"created": 0, "updated": 2, "unchanged": 0, "failed": 0}
    assert report["byResourceType"]["Patient"]["unchanged"] == 1
    assert run("verify", str(bundle), "--server", fhir_server).exit_code == 0


def test_rejection_is_reported_against_the_offending_entry(fhir_server: str, tmp_path: Path) -> None:
    system = new_system()
    data = study_bundle(system, participants=3)
    bad = next(i for i, e in enumerate(data["entry"]) if "SUBJ|0001" in json.dumps(e["resource"].get("identifier")))
    data["entry"][bad]["resource"]["birthDate"] = "not-a-date"
    bundle = write_bundle(tmp_path / "study.json", data)
    # Checked before sending: refused with the report, nothing sent.
    refused = run("push", str(bundle), "--server", fhir_server)
    assert refused.exit_code == ExitCode.INVALID
    assert "nothing was sent" in refused.stderr
    assert "birthDate" in refused.stderr
    assert "--no-validate" in refused.stderr
    assert count_on_server(fhir_server, "ResearchStudy", system, "NCT00000001") == 0
    # Sent anyway: HAPI's own request validation rejects it (422), named against the entry that caused it.
    code, report = push_json(bundle, fhir_server, "--batch-size", "6", "--no-validate")
    assert code == ExitCode.PARTIAL  # the study and the other participants landed
    causes = [f for f in report["failures"] if f["cause"]]
    assert len(causes) == 1
    assert causes[0]["file"] == str(bundle)
    assert causes[0]["entry"] == bad
    assert causes[0]["resourceType"] == "Patient"
    assert causes[0]["identifier"] == f"{system}|SUBJ|0001"
    assert "server answered 422" in causes[0]["message"]
    assert "not-a-date" in causes[0]["message"]
    # The rest of that participant's transaction was rolled back and is counted as failed too.
    assert report["totals"]["failed"] == 5  # Patient, ResearchSubject, 2 Observations, 1 AdverseEvent
    assert count_on_server(fhir_server, "Observation", system, "OBS-SUBJ|0001-0") == 0
    assert count_on_server(fhir_server, "Observation", system, "OBS-SUBJ|0002-0") == 1
    text = run("push", str(bundle), "--server", fhir_server, "--batch-size", "6", "--no-validate")
    assert text.exit_code == ExitCode.PARTIAL
    assert f"entry {bad} (Patient {system}|SUBJ|0001)" in text.stderr


def test_everything_rejected_exits_rejected(fhir_server: str, tmp_path: Path) -> None:
    system = new_system()
    data = study_bundle(system, participants=0)
    data["entry"][0]["resource"]["name"] = {"not": "a string"}
    bundle = write_bundle(tmp_path / "study.json", data)
    code, report = push_json(bundle, fhir_server, "--no-validate")
    assert code == ExitCode.REJECTED
    # HAPI refuses the whole transaction (its validator, 422, before its parser would say 400) and names
    # the element: blamed on entry 0.
    assert report["failures"][0]["entry"] == 0
    assert "server answered 422: This property must be a simple value" in report["failures"][0]["message"]


def test_r5_content_to_an_r4_server_stops_before_sending(fhir_server: str, tmp_path: Path) -> None:
    system = new_system()
    data = study_bundle(system, participants=0)
    study = data["entry"][2]["resource"]
    del study["sponsor"], study["site"]  # R4-only elements
    study["label"] = [{"value": "short title"}]  # R5-only element
    data["entry"] = data["entry"][2:]
    bundle = write_bundle(tmp_path / "study.json", data)
    result = run("push", str(bundle), "--server", fhir_server)
    assert result.exit_code == ExitCode.USAGE
    assert "speaks FHIR 4.0.1, but the content is FHIR R5" in result.stderr
    assert count_on_server(fhir_server, "ResearchStudy", system, "NCT00000001") == 0
    forced = run("push", str(bundle), "--server", fhir_server, "--fhir-version", "R5")
    assert forced.exit_code == ExitCode.USAGE


def test_server_without_transactions_is_refused(fhir_server: str, tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "study.json", study_bundle(new_system(), participants=1))
    with FaultProxy(fhir_server, hide_transactions=True) as proxy:
        result = run("push", str(bundle), "--server", proxy.url)
    assert result.exit_code == ExitCode.USAGE
    assert "does not announce transaction support" in result.stderr
    assert not [s for s in proxy.log if s.method == "POST"]


def test_unreachable_server_exits_unreachable(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bundle = write_bundle(tmp_path / "study.json", study_bundle(new_system(), participants=1))
    result = run("push", str(bundle), "--server", f"http://127.0.0.1:{port}", "--retries", "1")
    assert result.exit_code == ExitCode.UNREACHABLE
    assert "cannot reach" in result.stderr


def test_bearer_token_from_the_environment_and_never_printed(fhir_server: str, tmp_path: Path) -> None:
    secret = "s3cret-token-value"
    bundle = write_bundle(tmp_path / "study.json", study_bundle(new_system(), participants=1))
    with FaultProxy(fhir_server, require_auth=f"Bearer {secret}") as proxy:
        denied = run("push", str(bundle), "--server", proxy.url)
        assert denied.exit_code == ExitCode.REJECTED
        assert "401" in denied.stderr
        wrong = run("push", str(bundle), "--server", proxy.url, env={"FHIRCONV_TOKEN": "wrong"})
        assert wrong.exit_code == ExitCode.REJECTED
        assert "wrong" not in wrong.stderr + wrong.stdout
        ok = run("push", str(bundle), "--server", proxy.url, "--format", "json", env={"FHIRCONV_TOKEN": secret})
        assert ok.exit_code == 0, ok.stderr
        assert secret not in ok.stdout + ok.stderr
        verified = run("verify", str(bundle), "--server", proxy.url, env={"FHIRCONV_TOKEN": secret})
        assert verified.exit_code == 0


def test_basic_auth(fhir_server: str, tmp_path: Path) -> None:
    import base64

    expected = "Basic " + base64.b64encode(b"alice:pw").decode()
    bundle = write_bundle(tmp_path / "study.json", study_bundle(new_system(), participants=1))
    with FaultProxy(fhir_server, require_auth=expected) as proxy:
        assert run("push", str(bundle), "--server", proxy.url, "--user", "alice:pw").exit_code == 0
        assert run("push", str(bundle), "--server", proxy.url, "--user", "alice:no").exit_code == 3


def test_missing_server_and_bad_input_are_usage_errors(tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "study.json", study_bundle(new_system(), participants=1))
    assert run("push", str(bundle)).exit_code == ExitCode.USAGE
    collection = write_bundle(tmp_path / "c.json", {"resourceType": "Bundle", "type": "collection", "entry": []})
    result = run("push", str(collection), "--server", "http://127.0.0.1:9")
    assert result.exit_code == ExitCode.INVALID
    assert "only transaction or batch bundles" in result.stderr


def test_insecure_warns_once_and_still_pushes(fhir_server: str, tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "study.json", study_bundle(new_system(), participants=1))
    result = run("push", str(bundle), "--server", fhir_server, "--insecure")
    assert result.exit_code == 0
    assert result.stderr.count("warning: --insecure") == 1
    missing_ca = run("push", str(bundle), "--server", fhir_server, "--ca-bundle", str(tmp_path / "nope.pem"))
    assert missing_ca.exit_code == ExitCode.USAGE


def test_a_directory_of_study_bundles_sharing_a_sponsor(fhir_server: str, tmp_path: Path) -> None:
    system = new_system()
    out = tmp_path / "out"
    out.mkdir()
    for n in range(4):
        write_bundle(out / f"NCT1000000{n}.json", study_bundle(system, participants=2, study_id=f"NCT1000000{n}"))
    code, report = push_json(out, fhir_server, "--workers", "4", "--batch-size", "5")
    assert code == 0, report["failures"][:3]
    assert report["byResourceType"]["Organization"] == {"created": 1, "updated": 0, "unchanged": 3, "failed": 0}
    assert count_on_server(fhir_server, "Organization", system, "ORG-1") == 1
    assert count_on_server(fhir_server, "ResearchStudy", system, "NCT10000003") == 1
    assert run("verify", str(out), "--server", fhir_server).exit_code == 0


def _self_signed(tmp_path: Path) -> tuple[str, str]:
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


def test_tls_is_verified_by_default(fhir_server: str, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    bundle = write_bundle(tmp_path / "study.json", study_bundle(new_system(), participants=1))
    with FaultProxy(fhir_server, tls=(cert, key)) as proxy:
        assert proxy.url.startswith("https://")
        untrusted = run("push", str(bundle), "--server", proxy.url)
        assert untrusted.exit_code == ExitCode.UNREACHABLE
        assert "TLS verification failed" in untrusted.stderr
        assert "--ca-bundle" in untrusted.stderr
        trusted = run("push", str(bundle), "--server", proxy.url, "--ca-bundle", cert)
        assert trusted.exit_code == 0, trusted.stderr
        insecure = run("verify", str(bundle), "--server", proxy.url, "--insecure")
        assert insecure.exit_code == 0, insecure.stderr


def test_a_redirect_to_another_origin_is_not_followed(fhir_server: str, tmp_path: Path) -> None:
    elsewhere = FaultProxy(fhir_server).start()  # a second server: it must see neither the bundle nor the token
    try:
        bundle = write_bundle(tmp_path / "study.json", study_bundle(new_system(), participants=1))
        moved = Fault("redirect", status=307, location=f"{elsewhere.url}/fhir-moved")
        with FaultProxy(fhir_server, faults={1: moved}) as proxy:
            result = run("push", str(bundle), "--server", proxy.url, env={"FHIRCONV_TOKEN": "tok-123456"})
        assert result.exit_code == ExitCode.USAGE, result.stderr
        assert f"redirected to another origin, {elsewhere.url}/fhir-moved" in result.stderr
        assert elsewhere.log == []
    finally:
        elsewhere.stop()


def test_credentials_a_server_echoes_are_masked(fhir_server: str, tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "study.json", study_bundle(new_system(), participants=1))
    with FaultProxy(fhir_server, require_auth="Bearer right-token", echo_auth=True) as proxy:
        wrong = run("push", str(bundle), "--server", proxy.url, env={"FHIRCONV_TOKEN": "wrong-token"})
        basic = run("verify", str(bundle), "--server", proxy.url, "--user", "alice:secret-pw")
    assert wrong.exit_code == ExitCode.REJECTED
    assert "not authorized: ***" in wrong.stderr  # the server's message, with the credential masked
    assert "wrong-token" not in wrong.stdout + wrong.stderr
    assert basic.exit_code == ExitCode.REJECTED
    assert "not authorized: ***" in basic.stderr
    assert "secret-pw" not in basic.stdout + basic.stderr
    assert "YWxpY2U6c2VjcmV0LXB3" not in basic.stdout + basic.stderr  # base64 of alice:secret-pw
