"""`fhirconv report` shows the registry's posted results: real corpus records with results, converted to R4
and R5, give a "Posted results" section whose tables hold the record's own posted values per outcome measure
and group (read here from the source JSON), each chart beside its table, drawn in headless Chromium; a study
without results has no such section."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from report_tables import Tables
from test_report import EXAMPLE, _chromium, chromium_flags

from fhirconv.cli import main

CORPUS = Path(__file__).parent / "data" / "ctgov-corpus"
RECORDS = ("NCT05594173", "NCT00763412", "NCT03064438")  # small; the last has rows per visit × category
NUMBER = r"-?\d+(?:\.\d+)?"


@pytest.fixture(scope="module", params=[(n, v) for n in RECORDS for v in ("R4", "R5")],
                ids=lambda p: f"{p[0]}-{p[1]}")
def page(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    nct, version = request.param
    tmp = tmp_path_factory.mktemp(f"posted-{nct}-{version}")
    bundle, out = tmp / "bundle.json", tmp / "report.html"
    converted = CliRunner().invoke(main, ["convert", str(CORPUS / f"{nct}.json"), "--fhir-version", version,
                                          "-o", str(bundle), "-q"])
    assert converted.exit_code == 0, converted.output
    result = CliRunner().invoke(main, ["report", str(bundle), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads((CORPUS / f"{nct}.json").read_text(encoding="utf-8")), out


def _tables(out: Path) -> Tables:
    parsed = Tables()
    parsed.feed(out.read_text(encoding="utf-8"))
    return parsed


def test_each_outcome_measure_table_holds_the_posted_values_by_group(page: tuple[dict[str, Any], Path]) -> None:
    record, out = page
    tables = _tables(out).tables
    measures = record["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"]
    overview = {row[2]: row for row in tables["posted-results"][1:]}
    checked = 0
    for measure in measures:
        if measure.get("reportingStatus") != "POSTED":
            continue
        number, kind, _, time_frame, unit, _ = overview[measure["title"]]
        assert kind.lower().replace("-", "_").replace(" ", "_") == measure["type"].lower()  # OTHER_PRE_SPECIFIED
        assert (time_frame, unit) == (measure.get("timeFrame", ""), measure.get("unitOfMeasure", ""))
        header, *rows = tables[f"posted:{number}"]
        title = {g["id"]: g["title"] for g in measure["groups"]}
        split = "category" in header
        got = {(row[0], row[1] if split else ""): row for row in rows}
        for klass in measure["classes"]:
            # n: the class's own denominator when it has one (e.g. per visit), else the measure's
            denoms = {c["groupId"]: int(c["value"]) for c in (klass.get("denoms") or measure["denoms"])[0]["counts"]}
            for category in klass["categories"]:
                label = ": ".join(x for x in (klass.get("title"), category.get("title")) if x)  # "Week 2: Mild"
                for m in category["measurements"]:
                    row = got[(title[m["groupId"]], label if split else "")]
                    value, n = row[header.index("value")], row[header.index("n")]
                    assert float(value) == float(m["value"]), (measure["title"], m)
                    assert int(n) == denoms[m["groupId"]]
                    # the dispersion's numbers (the registry's text "0.20" is the number 0.2 in FHIR)
                    shown = {float(x) for x in re.findall(NUMBER, row[header.index("dispersion")])}
                    spread = [m[k] for k in ("spread", "lowerLimit", "upperLimit") if k in m]
                    assert {float(x) for x in spread if re.fullmatch(NUMBER, x)} <= shown, (row, m)
                    checked += 1
    assert checked >= 6


def test_the_named_outcome_and_group_carry_the_record_s_value(page: tuple[dict[str, Any], Path]) -> None:
    """One named cell, stated the way a reader checks it: the first outcome measure, its first group."""
    record, out = page
    tables = _tables(out).tables
    measure = record["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"][0]
    group = measure["groups"][0]
    first = measure["classes"][0]["categories"][0]["measurements"][0]
    assert first["groupId"] == group["id"]
    number = next(row[0] for row in tables["posted-results"][1:] if row[2] == measure["title"])
    header, *rows = tables[f"posted:{number}"]
    row = next(r for r in rows if r[0] == group["title"])
    assert float(row[header.index("value")]) == float(first["value"])


def test_every_posted_chart_has_its_table_and_draws_in_chromium(page: tuple[dict[str, Any], Path],
                                                               tmp_path: Path) -> None:
    _, out = page
    source = _tables(out)
    posted = [c for c in source.charts if c.startswith("posted:")]
    assert posted  # these records' values are numbers: every measure is drawn
    assert all(c in source.tables for c in posted)
    browser = _chromium()
    dom = subprocess.run([browser, *chromium_flags(tmp_path), "--dump-dom", out.as_uri()], capture_output=True,
                         text=True, timeout=180, check=False)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert [line for line in dom.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line] == []
    rendered = Tables()
    rendered.feed(dom.stdout)
    assert 'id="posted-results"' in dom.stdout
    assert rendered.tables == source.tables
    assert rendered.svgs == source.svgs >= len(posted)


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_a_study_without_posted_results_has_no_such_section(version: str, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", str(EXAMPLE / f"NCT04382547.{version}.json"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "posted-results" not in html  # neither the section nor its link
    assert not [t for t in _tables(out).tables if t.startswith("posted")]
