"""Progress and warnings on stderr: lines with --progress off a terminal, nothing by default, silence with -q;
one line per repeated cause."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirconv import progress
from fhirconv.cli import main

ROOT = Path(__file__).parent.parent
CLEAN_R4 = ROOT / "tests" / "data" / "validate" / "clean" / "bundle.R4.json"
STUDY = ROOT / "examples" / "NCT04382547" / "NCT04382547.txt"
SDTM = ROOT / "examples" / "NCT04382547" / "participants" / "sdtm"


@pytest.fixture(autouse=True)
def _defaults() -> None:
    progress.reset()


def test_validate_progress_off_a_terminal_is_a_last_line_with_count_and_rate() -> None:
    result = CliRunner().invoke(main, ["validate", "--progress", str(CLEAN_R4)])
    assert result.exit_code == 0, result.output
    # A line every LINE_INTERVAL seconds while it runs (a slow machine may see some), then the last one.
    *running, line = [x for x in result.stderr.splitlines() if x.startswith("validating:")]
    assert re.fullmatch(r"validating: 11 resources, [\d,]+ resources/s, done in \d+\.\d s", line), line
    assert all(re.fullmatch(r"validating: [\d,]+ resources, [\d,]+ resources/s", x) for x in running), running
    assert "\r" not in result.stderr  # no bar drawing codes in a log


def test_convert_progress_counts_the_participant_resources(tmp_path: Path) -> None:
    out = tmp_path / "out.ndjson"
    args = ["convert", str(STUDY), "--participants", str(SDTM), "--format", "ndjson", "-o", str(out), "--progress"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    line = [x for x in result.stderr.splitlines() if x.startswith("converting:")][-1]
    assert "done in" in line
    lines_written = len(out.read_text(encoding="utf-8").splitlines())
    # Every participant resource went past the counter (the study-level ones are written before).
    counted = int(line.split()[1].replace(",", ""))
    assert 0 < counted <= lines_written


def test_no_progress_by_default_off_a_terminal_and_none_with_q() -> None:
    plain = CliRunner().invoke(main, ["validate", str(CLEAN_R4)])
    assert "validating:" not in plain.stderr
    quiet = CliRunner().invoke(main, ["validate", "--progress", "-q", str(CLEAN_R4)])
    assert quiet.exit_code == 0
    assert quiet.stderr == ""  # neither progress nor the "checked as" note


def test_q_silences_warnings_and_summary_too(tmp_path: Path) -> None:
    # The same study twice: a "read twice" warning, and the summary line; -q silences both.
    again = tmp_path / "again.txt"
    again.write_bytes(STUDY.read_bytes())
    args = ["convert", str(STUDY), str(again), "-o", str(tmp_path / "o.json")]
    loud = CliRunner().invoke(main, args)
    assert loud.exit_code == 0, loud.output
    assert "warning: NCT04382547 was read from" in loud.stderr
    quiet = CliRunner().invoke(main, [*args, "-q", "--progress"])
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == ""


def test_a_repeated_warning_is_one_line_and_a_count() -> None:
    stream = io.StringIO()
    progress.settings.stream = lambda: stream
    try:
        for n in range(233):
            progress.warn("unit without UCUM", f"row {n}: unit 'x' has no UCUM code")
        progress.warn("other", "something else")
        progress.notices.flush()
    finally:
        progress.settings.stream = Settings_stream
    assert stream.getvalue().splitlines() == [
        "warning: row 0: unit 'x' has no UCUM code",
        "warning: something else",
        "warning: 232 more like it: unit without UCUM",
    ]


Settings_stream = progress.settings.stream


def test_a_terminal_gets_a_bar_with_total_percent_and_eta() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    progress.settings.stream = lambda: stream
    clock = iter([0.0, 1.0, 2.0, 2.0])
    try:
        bar = progress.Progress("pushing", "resources", 100, clock=lambda: next(clock))
        bar.advance(25)  # t=1: 25/s, 75 left → ETA 3 s
        bar.close()
    finally:
        progress.settings.stream = Settings_stream
    text = stream.getvalue()
    assert "\r\x1b[2K[######..................] pushing: 25/100 resources (25%), 25 resources/s, ETA 3 s" in text
    assert text.endswith("done in 2.0 s\n")
