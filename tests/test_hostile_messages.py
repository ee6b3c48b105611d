"""Many bad rows, or one huge value: the run keeps and prints a bounded number of rejections (the rest
counted) and quotes values cut to a readable length."""

from __future__ import annotations

import csv
import time
from pathlib import Path

from click.testing import CliRunner

from fhirconv.cli import main
from fhirconv.errors import CUT_LIMIT, cut
from fhirconv.model.participants import SourceRef
from fhirconv.pipeline.participants import MAX_LISTED_REJECTIONS, ParticipantSummary

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "NCT04382547"


def _dm(folder: Path, rows: int, arm: str) -> Path:
    """The example's DM with `rows` subjects whose arm is `arm` (not an arm of the study)."""
    with (EXAMPLE / "participants" / "sdtm" / "dm.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        template = next(reader)
        columns = list(reader.fieldnames or [])
    folder.mkdir(parents=True)
    with (folder / "dm.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        for i in range(rows):
            writer.writerow({**template, "USUBJID": f"S-{i}", "SUBJID": str(i), "ARM": arm, "ACTARM": arm})
    return folder


def test_a_million_bad_rows_keep_a_bounded_list() -> None:
    summary = ParticipantSummary()
    for row in range(1, 1_000_001):
        summary.reject(SourceRef("lb.csv", row), "LBDTC", "not a date")
    assert len(summary.rejections) == MAX_LISTED_REJECTIONS
    assert summary.rejected_total == 1_000_000
    assert summary.files["lb.csv"].rejected == 1_000_000
    lines = summary.lines()
    assert sum(line.startswith("rejected: lb.csv row") for line in lines) == MAX_LISTED_REJECTIONS
    unlisted = 1_000_000 - MAX_LISTED_REJECTIONS
    assert lines[-1] == f"rejected: {unlisted} more rows, not listed (each file's count is above)"


def test_many_rejected_rows_are_counted_not_all_printed(tmp_path: Path) -> None:
    data = _dm(tmp_path / "sdtm", 3000, "no such arm")
    started = time.monotonic()
    result = CliRunner().invoke(main, ["convert", str(EXAMPLE / "NCT04382547.txt"), "--participants", str(data)])
    assert time.monotonic() - started < 30
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.stderr.count("\nrejected: dm.csv row") == MAX_LISTED_REJECTIONS
    assert f"rejected: {3000 - MAX_LISTED_REJECTIONS} more rows, not listed" in result.stderr
    assert "dm.csv: rows read 3000, converted 0, merged 0, rejected 3000" in result.stderr
    assert f"(and 2,999 more rows; the first {MAX_LISTED_REJECTIONS - 1} are listed above)" in result.stderr


def test_a_huge_value_is_quoted_cut(tmp_path: Path) -> None:
    data = _dm(tmp_path / "sdtm", 2, "A" * 100_000)
    result = CliRunner().invoke(main, ["convert", str(EXAMPLE / "NCT04382547.txt"), "--participants", str(data)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert len(result.stderr) < 5000
    assert "(100,000 characters)" in result.stderr


def test_cut() -> None:
    assert cut("short") == "'short'"
    long = cut("x" * 1000)
    assert long.startswith("'" + "x" * CUT_LIMIT + "'")
    assert long.endswith("(1,000 characters)")
    assert cut(12) == "12"
