"""Output names never come from the data as a path: a hostile STUDYID cannot leave the -o directory."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirconv.cli import main
from fhirconv.errors import InputError
from fhirconv.output.files import NAME_MAX_CHARS, path_inside, study_file_name

EXAMPLE_DM = Path(__file__).resolve().parents[1] / "examples" / "NCT04382547" / "participants" / "sdtm" / "dm.csv"


def _sdtm(folder: Path, study_id: str) -> Path:
    """The example's DM, with TS/TA whose STUDYID is `study_id` (no registry record: TS names the study)."""
    folder.mkdir(parents=True)
    shutil.copy(EXAMPLE_DM, folder / "dm.csv")
    with (folder / "ts.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([
            ["STUDYID", "DOMAIN", "TSSEQ", "TSPARMCD", "TSPARM", "TSVAL"],
            [study_id, "TS", "1", "TITLE", "Trial Title", "A title"],
        ])
    with (folder / "ta.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([
            ["STUDYID", "DOMAIN", "ARMCD", "ARM", "TAETORD", "ETCD", "ELEMENT", "TABRANCH", "EPOCH"],
            [study_id, "TA", "MSC", "mesenchymal stem cells", "1", "TRT", "T", "", ""],
            [study_id, "TA", "CTRL", "control", "1", "CTL", "C", "", ""],
        ])
    return folder


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "study_id",
    ["../../x", "../../../../../../tmp/fhirconv-escape", "/ABS/x", "a/b", "..", ".", "X" * 300, "bad\0id", "\\..\\y"],
    ids=["dotdot", "deep", "absolute", "slash", "parent", "dot", "long", "nul", "backslash"],
)
def test_a_studyid_cannot_leave_the_output_directory(tmp_path: Path, study_id: str) -> None:
    data = _sdtm(tmp_path / "in" / "sdtm", study_id)
    out = tmp_path / "in" / "out" / "sub"
    before = _files(tmp_path)
    result = CliRunner().invoke(main, ["convert", "--participants", str(data), "-o", f"{out}/"])
    assert "Traceback" not in result.output
    assert result.exit_code != 70, result.output
    written = _files(tmp_path) - before
    assert all(p.parent == out for p in written), written  # nothing anywhere else
    assert not Path("/tmp/fhirconv-escape.R4.json").exists()
    if result.exit_code == 0:
        (path,) = written
        assert len(path.name) <= NAME_MAX_CHARS + 30
        bundle = json.loads(path.read_text(encoding="utf-8"))
        assert bundle["resourceType"] == "Bundle"
    else:  # refused cleanly, naming the problem
        assert result.output.startswith("error:") or "\nerror:" in result.output, result.output


def test_names_are_the_nct_id_or_a_slug_that_keeps_distinct_ids_apart() -> None:
    assert study_file_name("nct04382547", ".R4.json") == "NCT04382547.R4.json"
    assert study_file_name("CDISCPILOT01", ".R4.json") == "CDISCPILOT01.R4.json"  # a safe id is kept as it is
    a, b = study_file_name("A/B", ".json"), study_file_name("A:B", ".json")
    assert a != b
    assert a.startswith("A-B-")
    assert "/" not in a
    assert study_file_name("...", ".json").startswith("study-")
    assert len(study_file_name("é" * 1000, ".json")) < 40


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "..", ".", "", "a\0b", "sub/x"])
def test_path_inside_refuses_anything_but_a_plain_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError, match="not a plain file name"):
        path_inside(tmp_path, name)
    assert path_inside(tmp_path, "NCT04382547.json") == tmp_path / "NCT04382547.json"


def test_the_ctgov_cache_names_files_the_same_safe_way(tmp_path: Path) -> None:
    from fhirconv.ctgov.cache import StudyCache

    cache = StudyCache(tmp_path)
    assert cache.path("NCT04382547") == tmp_path / "NCT04382547.json"
    assert cache.path("../../etc/passwd").parent == tmp_path
