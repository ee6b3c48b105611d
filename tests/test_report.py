"""`fhirconv report`: the page's tables hold the counts of the data, it is self-contained, and it renders in
headless Chromium with every chart drawn and no console error (a screenshot is kept as a test artefact)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from report_tables import Tables

from fhirconv.cli import main

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "NCT04382547"
ARTEFACTS = ROOT / "tests" / "artefacts"  # kept by CI: the screenshots of the rendered pages


def _resources(path: Path) -> list[dict[str, Any]]:
    return [e["resource"] for e in json.loads(path.read_text(encoding="utf-8"))["entry"]]


@pytest.fixture(scope="module", params=["R4", "R5"])
def page(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Path]:
    source = EXAMPLE / f"NCT04382547.{request.param}.json"
    out = tmp_path_factory.mktemp("report") / f"report.{request.param}.html"
    result = CliRunner().invoke(main, ["report", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return request.param, source, out


def test_the_tables_hold_the_counts_of_the_data(page: tuple[str, Path, Path]) -> None:
    version, source, out = page
    resources = _resources(source)
    parsed = Tables()
    parsed.feed(out.read_text(encoding="utf-8"))
    tables = parsed.tables
    # Resources per type.
    counts = Counter(r["resourceType"] for r in resources)
    assert {row[0]: int(row[1].replace(",", "")) for row in tables["resources"][1:-1]} == counts
    # Enrolment by arm: ResearchSubjects per arm (R4 actualArm; R5 the comparison group's linkId).
    study = next(r for r in resources if r["resourceType"] == "ResearchStudy")
    names = {g["linkId"]: g["name"] for g in study.get("comparisonGroup", [])}
    subjects = [r for r in resources if r["resourceType"] == "ResearchSubject"]
    by_arm = Counter(r.get("actualArm") or names[r["actualComparisonGroup"]] for r in subjects)
    assert {row[0]: int(row[1]) for row in tables["enrolment"][1:-1]} == by_arm
    assert tables["enrolment"][-1][:2] == ["all", str(len(subjects))]
    # Adverse events by term: events and participants per arm.
    arm_of = {}
    for r in subjects:
        patient = (r.get("individual") or r.get("subject"))["reference"]
        arm_of[patient] = r.get("actualArm") or names[r["actualComparisonGroup"]]
    events = [r for r in resources if r["resourceType"] == "AdverseEvent"]
    header, *rows = tables["ae-term"]
    arms = [h.removeprefix("events (").removesuffix(")") for h in header if h.startswith("events (")]
    for row in rows:
        term = row[0]
        for i, arm in enumerate(arms):
            hit = [e for e in events if (e.get("event") or e.get("code"))["text"] == term
                   and arm_of[e["subject"]["reference"]] == arm]
            assert int(row[1 + 3 * i]) == len(hit), (version, term, arm)
            people = {e["subject"]["reference"] for e in hit}
            assert int(row[2 + 3 * i]) == len(people)
            assert row[3 + 3 * i] == f"{100 * len(people) / by_arm[arm]:.1f}%"
    # Laboratory: results per test and the out-of-range count (interpretation H/L).
    lab = [r for r in resources if r["resourceType"] == "Observation" and "valueQuantity" in r
           and any(c.get("code") == "laboratory" for cat in r.get("category", []) for c in cat.get("coding", []))]
    per_test = Counter(r["code"]["text"] for r in lab)
    high_low = Counter(r["code"]["text"] for r in lab
                       if {c["code"] for i in r.get("interpretation", []) for c in i["coding"]} & {"H", "L"})
    overview = {row[0]: (int(row[2]), int(row[3])) for row in tables["laboratory-overview"][1:]}
    assert overview == {t: (n, high_low[t]) for t, n in per_test.items()}


def test_the_page_is_self_contained_and_every_chart_has_its_table(page: tuple[str, Path, Path]) -> None:
    _, _, out = page
    html = out.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing fetched from a network
    assert "<script" not in html  # tables and charts need no JavaScript
    parsed = Tables()
    parsed.feed(html)
    charts = [c for c in parsed.charts if c != "flow"]
    assert charts
    assert "enrolment" in charts
    assert "ae-term" in charts
    for chart in charts:
        assert chart in parsed.tables, f"chart {chart} has no data table"


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    return found


def chromium_flags(tmp_path: Path) -> list[str]:
    """Headless, with its own profile, logging the console to stderr (where the tests look for errors)."""
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0"]


def test_the_page_renders_in_headless_chromium(page: tuple[str, Path, Path], tmp_path: Path) -> None:
    version, _, out = page
    browser = _chromium()
    flags = chromium_flags(tmp_path)
    dom = subprocess.run([browser, *flags, "--dump-dom", out.as_uri()], capture_output=True, text=True,
                         timeout=180, check=False)
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == [], console
    parsed = Tables()
    parsed.feed(dom.stdout)
    source = Tables()
    source.feed(out.read_text(encoding="utf-8"))
    # The browser built every chart's SVG and every table the page holds, with the same numbers.
    assert parsed.svgs == source.svgs > 5
    assert parsed.tables == source.tables
    for section in ("study", "enrolment", "flow", "adverse-events", "results", "conversion"):
        assert f'id="{section}"' in dom.stdout
    ARTEFACTS.mkdir(exist_ok=True)
    shot = ARTEFACTS / f"report.{version}.png"
    shot.unlink(missing_ok=True)
    done = subprocess.run([browser, *flags, f"--screenshot={shot}", "--window-size=1300,2400", out.as_uri()],
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.stat().st_size > 50_000  # a drawn page, not a blank one


def test_unusable_input_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    missing = CliRunner().invoke(main, ["report", str(tmp_path / "nothing.json"), "-o", str(tmp_path / "r.html")])
    assert missing.exit_code == 2
    assert "no such file or directory" in missing.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    result = CliRunner().invoke(main, ["report", str(broken), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "broken.json" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "r.html").exists()  # nothing half-written
    assert CliRunner().invoke(main, ["report"]).exit_code == 2


def test_the_conversion_report_lists_what_is_not_carried_over_from_the_mapping_table(
    page: tuple[str, Path, Path],
) -> None:
    parsed = Tables()
    parsed.feed(page[2].read_text(encoding="utf-8"))
    fields = [row[0] for row in parsed.tables["not-carried"][1:]]
    assert "resultsSection" in fields  # the field table's own row in mappings/README.md
    assert all(row[2] for row in parsed.tables["not-carried"][1:])  # each with its reason


def test_report_takes_paths_or_a_server_not_both(tmp_path: Path) -> None:
    source = str(EXAMPLE / "NCT04382547.R4.json")
    out = str(tmp_path / "r.html")
    both = CliRunner().invoke(main, ["report", source, "--server", "http://localhost:1/fhir", "-o", out])
    assert both.exit_code == 2
    assert "not both" in both.stderr
    keyed = CliRunner().invoke(main, ["report", "--server", "http://localhost:1/fhir?key=secret", "-o", out])
    assert keyed.exit_code == 2
    assert "secret" not in keyed.output  # a query string is refused and never echoed (cli.push.server_config)


def test_a_next_link_to_another_host_is_not_followed() -> None:
    from fhirconv.report.server import _own_path
    from fhirconv.transport import FhirClient, ServerConfig
    from fhirconv.transport.errors import ServerRejected

    with FhirClient(ServerConfig("http://hapi.local:8080/fhir")) as client:
        page = "?_getpages=x&_getpagesoffset=200"
        assert client.url(_own_path(client, f"http://hapi.local:8080/fhir{page}")) == f"http://hapi.local:8080/fhir{page}"
        assert _own_path(client, "http://hapi.local:8080/fhir/Observation?page=2") == "/Observation?page=2"
        with pytest.raises(ServerRejected):
            _own_path(client, "http://elsewhere.example/fhir?_getpages=x")
