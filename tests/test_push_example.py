"""The example NCT04382547 with its participants, converted, pushed twice, verified: one copy of each resource."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner, Result

from fhirconv.cli import main

pytestmark = pytest.mark.server

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "NCT04382547"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={}, catch_exceptions=False)


def _push_twice_and_verify(bundle: Path, server: str) -> dict[str, int]:
    first = run("push", str(bundle), "--server", server, "--format", "json", "--batch-size", "50", "--workers", "2")
    assert first.exit_code == 0, first.stdout[-2000:]
    second = run("push", str(bundle), "--server", server, "--format", "json", "--batch-size", "50", "--workers", "2")
    assert second.exit_code == 0, second.stdout[-2000:]
    totals = json.loads(second.stdout)["totals"]
    entries = json.loads(bundle.read_text())["entry"]
    assert totals == {"created": 0, "updated": 0, "unchanged": len(entries), "failed": 0}
    verified = run("verify", str(bundle), "--server", server, "--format", "json")
    assert verified.exit_code == 0, verified.stdout[-2000:]
    # Exactly one copy of each resource searchable by its identifier.
    for entry in entries:
        url = entry["request"]["url"]
        if "?" in url:
            body = requests.get(f"{server}/{url}", timeout=30).json()
            assert body.get("total", len(body.get("entry", []))) == 1, url
    return dict(totals)


def test_example_study_pushed_twice(fhir_server: str, tmp_path: Path) -> None:
    bundle = tmp_path / "NCT04382547.json"
    converted = run("convert", str(EXAMPLE / "NCT04382547.txt"), "-o", str(bundle))
    assert converted.exit_code == 0, converted.stderr
    _push_twice_and_verify(bundle, fhir_server)


def test_example_study_with_participants_pushed_twice(fhir_server: str, tmp_path: Path) -> None:
    bundle = tmp_path / "NCT04382547.json"
    participants = EXAMPLE / "participants" / "sdtm"
    converted = run("convert", str(EXAMPLE / "NCT04382547.txt"), "--participants", str(participants), "-o", str(bundle))
    assert converted.exit_code == 0, converted.stderr
    types = {e["resource"]["resourceType"] for e in json.loads(bundle.read_text())["entry"]}
    assert {"Patient", "ResearchSubject", "Observation", "AdverseEvent"} <= types
    _push_twice_and_verify(bundle, fhir_server)


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


def test_convert_push_needs_a_server_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, ["convert", str(EXAMPLE / "NCT04382547.txt"), "-o", str(out), "--push"], env={})
    assert result.exit_code == 2
    assert "no FHIR server given" in result.stderr
    assert not out.exists()
