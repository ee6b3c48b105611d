"""The runnable examples in examples/ work, and the example's published outputs are what convert writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirconv.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "NCT04382547"


def test_api_example_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "api_example.py")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "NCT04382547" in done.stdout
    assert "Patient 32" in done.stdout
    assert "0 validation errors" in done.stdout


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_readme_first_command_output_matches_the_published_example(tmp_path: Path, version: str) -> None:
    out = tmp_path / f"NCT04382547.{version}.json"
    result = CliRunner().invoke(
        main,
        ["convert", str(EXAMPLE / "NCT04382547.txt"), "--participants", str(EXAMPLE / "participants" / "sdtm"),
         "--fhir-version", version, "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    published = EXAMPLE / f"NCT04382547.{version}.json"
    assert json.loads(out.read_text()) == json.loads(published.read_text())
