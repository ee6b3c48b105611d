"""Push through a fault-injecting proxy: after every scenario nothing is lost and nothing is duplicated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fault_proxy import Fault, FaultProxy
from hapi_server import HapiServer
from push_sample import new_system, study_bundle, write_bundle

from fhirconv.cli import main
from fhirconv.errors import ExitCode
from fhirconv.versions import FhirVersion

pytestmark = pytest.mark.server

PARTICIPANTS = 6  # 3 study-level + 6 x 5 entries; with --batch-size 5: 7 transactions


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={}, catch_exceptions=False)


def push_via(proxy: FaultProxy, bundle: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = run(
        "push", str(bundle), "--server", proxy.url, "--format", "json", "--batch-size", "5", "--workers", "2", *extra
    )
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else {}


def assert_all_there_once(server: str, bundle: Path) -> None:
    # verify goes straight to the server, not through the proxy
    result = run("verify", str(bundle), "--server", server, "--format", "json")
    report = json.loads(result.stdout)
    assert result.exit_code == 0, report["problems"][:5]
    assert report["totals"] == {"ok": 3 + 5 * PARTICIPANTS, "missing": 0, "duplicated": 0, "different": 0}


def new_bundle(tmp_path: Path, version: FhirVersion = FhirVersion.R4) -> Path:
    return write_bundle(tmp_path / "study.json", study_bundle(new_system(), version, participants=PARTICIPANTS))


# (name, faults, extra arguments, retries, also on R5). Client-side behaviour is the same for both versions: R5
# runs the scenarios whose outcome depends on the server's answers (counting after a lost answer, 409, 503),
# which keeps CI within its time.
SCENARIOS = [
    ("503 with Retry-After", {2: Fault("status", 503, retry_after="1"), 3: Fault("status", 503, "0")}, (), 2, True),
    ("429 without Retry-After", {1: Fault("status", 429), 4: Fault("status", 429)}, (), 2, False),
    ("502 and 504 from a gateway", {2: Fault("status", 502), 5: Fault("status", 504)}, (), 2, False),
    ("connection dropped before the server saw it", {1: Fault("drop"), 3: Fault("drop")}, (), 2, False),
    ("connection dropped after the server committed", {2: Fault("drop-after"), 4: Fault("drop-after")}, (), 2, True),
    ("answer slower than the timeout", {3: Fault("slow", delay=2.5)}, ("--timeout", "1"), 1, False),
    ("slow answer within the timeout", {2: Fault("slow", delay=0.5)}, (), 0, False),
    ("409 from a concurrent writer", {2: Fault("status", 409)}, (), 1, True),
]


@pytest.mark.parametrize(
    ("version", "name", "faults", "extra", "retries"),
    [
        pytest.param(v, name, faults, extra, retries, id=f"{v.value}-{name}")
        for name, faults, extra, retries, r5 in SCENARIOS
        for v in FhirVersion
        if r5 or v is FhirVersion.R4
    ],
)
def test_transient_faults_are_retried(
    fhir_servers: dict[FhirVersion, str],
    tmp_path: Path,
    version: FhirVersion,
    name: str,
    faults: dict[int, Fault],
    extra: tuple[str, ...],
    retries: int,
) -> None:
    fhir_server = fhir_servers[version]
    bundle = new_bundle(tmp_path, version)
    with FaultProxy(fhir_server, faults=faults) as proxy:
        code, report = push_via(proxy, bundle, *extra)
    assert code == 0, (name, report.get("failures"))
    assert len(proxy.faults_hit()) == len(faults), name
    if "--timeout" in extra:  # on a loaded machine another answer may also miss a 1 s timeout
        assert report["timing"]["retries"] >= retries
    else:
        assert report["timing"]["retries"] == retries
    # Every resource was new: the report says so, also for a chunk whose first attempt was carried out
    # but whose answer was lost (the retry finds it "unchanged", but this run created it).
    assert report["totals"] == {"created": 3 + 5 * PARTICIPANTS, "updated": 0, "unchanged": 0, "failed": 0}
    assert_all_there_once(fhir_server, bundle)


def test_retry_after_is_honoured(fhir_server: str, tmp_path: Path) -> None:
    bundle = new_bundle(tmp_path)
    with FaultProxy(fhir_server, faults={1: Fault("status", 503, retry_after="2")}) as proxy:
        code, _ = push_via(proxy, bundle, "--workers", "1")
    assert code == 0
    posts = [s for s in proxy.log if s.method == "POST"]
    assert posts[1].at - posts[0].at >= 1.9  # waited as told, not the 0.25-0.5 s first backoff


def test_client_errors_are_not_retried(fhir_server: str, tmp_path: Path) -> None:
    bundle = new_bundle(tmp_path)
    with FaultProxy(fhir_server, faults={1: Fault("status", 400)}) as proxy:
        code, report = push_via(proxy, bundle)
    assert code == ExitCode.REJECTED  # the study chunk failed, so nothing that refers to it was sent
    assert len([s for s in proxy.log if s.method == "POST"]) == 1
    assert report["totals"]["failed"] == 3 + 5 * PARTICIPANTS
    assert report["timing"]["retries"] == 0


def test_an_interrupted_run_run_again_completes_without_duplicates(fhir_server: str, tmp_path: Path) -> None:
    bundle = new_bundle(tmp_path)
    # From the 4th transaction on the server is gone for longer than the retries last.
    with FaultProxy(fhir_server, from_post=(4, Fault("status", 503))) as proxy:
        code, report = push_via(proxy, bundle, "--retries", "1", "--workers", "1")
    assert code == ExitCode.PARTIAL
    assert report["chunks"]["ok"] == 3
    assert report["totals"]["created"] == 3 + 5 * 2
    with FaultProxy(fhir_server) as proxy:
        code, report = push_via(proxy, bundle)
    assert code == 0
    assert report["totals"]["unchanged"] == 3 + 5 * 2
    assert report["totals"]["created"] == 5 * (PARTICIPANTS - 2)
    assert_all_there_once(fhir_server, bundle)


@pytest.mark.parametrize("kind", ["restart", "restart-before"])
def test_server_restarted_in_the_middle_of_an_upload(
    restartable_server: HapiServer, tmp_path: Path, kind: str
) -> None:
    bundle = new_bundle(tmp_path)
    proxy = FaultProxy(restartable_server.base_url, faults={3: Fault(kind)}, on_restart=restartable_server.restart)
    with proxy:
        # A restart takes HAPI ~20 s: enough retries to outlast it.
        code, report = push_via(proxy, bundle, "--retries", "12")
    assert code == 0, report.get("failures")
    assert proxy.faults_hit() == [kind]
    assert report["totals"] == {"created": 3 + 5 * PARTICIPANTS, "updated": 0, "unchanged": 0, "failed": 0}
    assert_all_there_once(restartable_server.base_url, bundle)
