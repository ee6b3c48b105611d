"""The example NCT04382547 with its participants, converted, pushed twice to HAPI R4 and R5, verified: one copy of
each resource; and two pushes of the same content at the same time create no duplicates."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from push_sample import new_system, study_bundle, write_bundle
from server_counts import copies

from fhirconv.cli import main
from fhirconv.versions import FhirVersion

pytestmark = pytest.mark.server

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "NCT04382547"
Server = tuple[FhirVersion, str]


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={}, catch_exceptions=False)


def _push_twice_and_verify(bundle: Path, server: str) -> None:
    entries = json.loads(bundle.read_text())["entry"]
    first = run("push", str(bundle), "--server", server, "--format", "json", "--batch-size", "50", "--workers", "2")
    assert first.exit_code == 0, first.stdout[-2000:]
    totals = json.loads(first.stdout)["totals"]
    assert totals["failed"] == 0
    assert sum(totals.values()) == len(entries)
    second = run("push", str(bundle), "--server", server, "--format", "json", "--batch-size", "50", "--workers", "2")
    assert second.exit_code == 0, second.stdout[-2000:]
    assert json.loads(second.stdout)["totals"] == {"created": 0, "updated": 0, "unchanged": len(entries), "failed": 0}
    verified = run("verify", str(bundle), "--server", server, "--format", "json")
    assert verified.exit_code == 0, verified.stdout[-2000:]
    counts = copies(server, entries)
    assert [e["request"]["url"] for e, n in zip(entries, counts, strict=True) if n != 1] == []


def test_example_study_pushed_twice(any_server: Server, tmp_path: Path) -> None:
    version, server = any_server
    bundle = tmp_path / "NCT04382547.json"
    converted = run("convert", str(EXAMPLE / "NCT04382547.txt"), "--fhir-version", version.value, "-o", str(bundle))
    assert converted.exit_code == 0, converted.stderr
    _push_twice_and_verify(bundle, server)


def test_example_study_with_participants_pushed_twice(any_server: Server, tmp_path: Path) -> None:
    version, server = any_server
    bundle = tmp_path / "NCT04382547.json"
    participants = EXAMPLE / "participants" / "sdtm"
    converted = run("convert", str(EXAMPLE / "NCT04382547.txt"), "--participants", str(participants),
                    "--fhir-version", version.value, "-o", str(bundle))
    assert converted.exit_code == 0, converted.stderr
    types = {e["resource"]["resourceType"] for e in json.loads(bundle.read_text())["entry"]}
    assert {"Patient", "ResearchSubject", "Observation", "AdverseEvent"} <= types
    _push_twice_and_verify(bundle, server)


def test_convert_push_in_one_command(fhir_server: str, tmp_path: Path) -> None:
    bundle = tmp_path / "NCT04382547.json"
    args = ("convert", str(EXAMPLE / "NCT04382547.txt"), "--participants", str(EXAMPLE / "participants" / "simple"),
            "-o", str(bundle), "--push", "--server", fhir_server, "--batch-size", "100")
    first = run(*args)
    assert first.exit_code == 0, first.stderr[-2000:]
    second = run(*args)
    assert second.exit_code == 0, second.stderr[-2000:]
    entries = json.loads(bundle.read_text())["entry"]
    # Report columns: created, updated, unchanged, failed — the second run changes nothing.
    assert re.search(rf"^total\s+0\s+0\s+{len(entries)}\s+0$", second.stderr, re.MULTILINE), second.stderr
    verified = run("verify", str(bundle), "--server", fhir_server)
    assert verified.exit_code == 0, verified.stderr[-2000:]


def test_two_pushes_of_the_same_content_at_the_same_time(any_server: Server, tmp_path: Path) -> None:
    """2 processes x 4 workers, small transactions, all of it new: every resource still exists exactly once."""
    version, server = any_server
    bundle = write_bundle(tmp_path / "study.json", study_bundle(new_system(), version, participants=30))
    cmd = [sys.executable, "-c", "from fhirconv.cli import run; run()", "push", str(bundle), "--server", server,
           "--format", "json", "--batch-size", "5", "--workers", "4"]
    pushes = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in pushes]
    for push, (out, err) in zip(pushes, outputs, strict=True):
        assert push.returncode == 0, (out[-2000:], err[-2000:])
    entries = json.loads(bundle.read_text())["entry"]
    counts = copies(server, entries)
    assert [e["request"]["url"] for e, n in zip(entries, counts, strict=True) if n != 1] == []
    reports = [json.loads(out) for out, _ in outputs]
    # Between them, the two runs created each resource once.
    assert sum(r["totals"]["created"] for r in reports) == len(entries)
    assert run("verify", str(bundle), "--server", server).exit_code == 0
