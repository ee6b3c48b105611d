"""`fhirconv report --server`: the example (study + participants) pushed to the real HAPI server, then read
back by its identifier (searches paged through `next` links); the page's tables equal those of the report
made from the files."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from report_tables import Tables

from fhirconv.cli import main
from fhirconv.versions import FhirVersion

pytestmark = pytest.mark.server

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "NCT04382547"
# Tables that depend on where the page was read from, not on the data.
SOURCE_ONLY = {"resources"}


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={}, catch_exceptions=False)


def _tables(page: Path) -> dict[str, list[list[str]]]:
    parsed = Tables()
    parsed.feed(page.read_text(encoding="utf-8"))
    return parsed.tables


def test_the_report_from_the_server_equals_the_report_from_the_files(
    any_server: tuple[FhirVersion, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    version, server = any_server
    monkeypatch.setattr("fhirconv.report.server.PAGE_SIZE", 7)  # 32 subjects, ~28 results each: many `next` pages
    bundle = EXAMPLE / f"NCT04382547.{version.value}.json"
    pushed = run("push", str(bundle), "--server", server, "--format", "json")
    assert pushed.exit_code == 0, pushed.stdout[-2000:]
    from_files, from_server = tmp_path / "files.html", tmp_path / "server.html"
    assert run("report", str(bundle), "-o", str(from_files), "-q").exit_code == 0
    result = run("report", "--server", server, "--identifier", "NCT04382547", "-o", str(from_server), "-q")
    assert result.exit_code == 0, result.output
    files, read_back = _tables(from_files), _tables(from_server)
    assert set(files) == set(read_back)
    for name in set(files) - SOURCE_ONLY:
        assert read_back[name] == files[name], name
    # Resources per type: the server holds what the bundle holds (read back by the study's references).
    counts = {row[0]: row[1] for row in read_back["resources"][1:-1]}
    expected = {row[0]: row[1] for row in files["resources"][1:-1]}
    for rtype in ("ResearchStudy", "ResearchSubject", "Patient", "Observation", "AdverseEvent"):
        assert counts[rtype] == expected[rtype], rtype


def test_an_unknown_identifier_is_a_clear_error(fhir_server: str, tmp_path: Path) -> None:
    result = run("report", "--server", fhir_server, "--identifier", "NCT00000000", "-o", str(tmp_path / "r.html"))
    assert result.exit_code == 2
    assert "0 ResearchStudy" in result.stderr
    assert not (tmp_path / "r.html").exists()
