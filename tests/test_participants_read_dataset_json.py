"""CDISC Dataset-JSON v1.1 tables: the pilot's row subsets written as Dataset-JSON (JSON and NDJSON forms)
read into the same records as the XPT/CSV files they came from; malformed data sets refused by name."""

from __future__ import annotations

import dataclasses
import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from dataset_json_writer import dataset_json, write, write_all

from fhirconv.cli import main
from fhirconv.errors import InputError
from fhirconv.readers.participants import read_participants
from fhirconv.readers.tables import open_table

PILOT = Path(__file__).parent / "data" / "participants" / "pilot"


def _records(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """Every record read from `folder`, by kind, without the file name (which differs by format)."""
    data = read_participants(folder)

    def plain(record: Any) -> dict[str, Any]:
        out = dataclasses.asdict(record)
        out["source"] = out["source"]["row"]
        return out

    kinds = {"participants": data.participants, "dispositions": data.dispositions, "measurements": data.measurements}
    out = {kind: [plain(r) for r in records] for kind, records in kinds.items()}
    out.update({kind: [plain(r) for r in stream] for kind, stream in data.events.items()})
    assert not data.rejected
    out["design"] = [dataclasses.asdict(data.design)["parameters"], dataclasses.asdict(data.design)["arms"]]
    return out


@pytest.fixture(scope="module")
def from_tables() -> dict[str, list[dict[str, Any]]]:
    return _records(PILOT)


@pytest.mark.parametrize("ndjson", [False, True], ids=["json", "ndjson"])
def test_pilot_as_dataset_json_reads_as_the_xpt_and_csv_files(
    tmp_path: Path, from_tables: dict[str, list[dict[str, Any]]], ndjson: bool
) -> None:
    written = write_all(PILOT, tmp_path, ndjson=ndjson)
    assert len(written) == len(list(PILOT.glob("*.*")))
    got = _records(tmp_path)
    assert {k: len(v) for k, v in got.items()} == {k: len(v) for k, v in from_tables.items()}
    assert got == from_tables
    assert len(got["measurements"]) == 1137
    assert len(got["participants"]) == 306


def test_numbers_are_doubles_rounded_as_xpt_numbers_are(tmp_path: Path) -> None:
    """The JSON holds the exact doubles (0.049999999999999996, as the pilot's LB does); the reader gives
    them at SAS's 15 significant digits, like the XPT and CSV readers."""
    path = write(PILOT / "lb.csv", tmp_path)
    text = path.read_text(encoding="utf-8")
    assert "0.049999999999999996" in text
    with open_table(path) as table:
        assert table.columns[:4] == ["STUDYID", "DOMAIN", "USUBJID", "LBSEQ"]
        values = {v for _, (v,) in table.tuples(["LBSTRESN"])}
    assert 0.05 in values
    assert 0.049999999999999996 not in values
    doc = dataset_json(PILOT / "lb.csv")
    types = {c["name"]: c["dataType"] for c in doc["columns"]}
    assert (types["LBSTRESN"], types["LBSEQ"], types["LBTESTCD"], types["LBORNRLO"]) == (
        "double",
        "double",
        "string",
        "string",
    )


def test_sponsor_names_case_and_gzip(tmp_path: Path, from_tables: dict[str, list[dict[str, Any]]]) -> None:
    """DM.JSON, lb_study01.ndjson.gz: the domain comes from the DOMAIN column, upper case and gzip are fine."""
    for p in write_all(PILOT, tmp_path):
        stem = p.stem
        if stem == "dm":
            p.rename(tmp_path / "DM.JSON")
        elif stem == "lb":
            doc = json.loads(p.read_text(encoding="utf-8"))
            rows = doc.pop("rows")
            lines = [json.dumps(doc), *map(json.dumps, rows)]
            (tmp_path / "lb_study01.ndjson.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
            p.unlink()
    assert _records(tmp_path) == from_tables


def test_other_json_in_the_folder_is_not_a_table(tmp_path: Path) -> None:
    for p in PILOT.iterdir():
        shutil.copy(p, tmp_path / p.name)
    (tmp_path / "notes.json").write_text('{"resourceType": "Bundle"}', encoding="utf-8")
    data = read_participants(tmp_path)
    assert "notes.json" not in data.ignored_files
    assert len(data.participants) == 306


def test_the_cli_converts_a_dataset_json_folder(tmp_path: Path) -> None:
    src = tmp_path / "sdtm"
    src.mkdir()
    for name in ("dm.xpt", "ts.xpt", "ta.xpt", "vs.csv", "cm.csv"):
        write(PILOT / name, src)
    out = tmp_path / "pilot.json"
    result = CliRunner().invoke(main, ["convert", "--participants", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    kinds: dict[str, int] = {}
    for entry in json.loads(out.read_text(encoding="utf-8"))["entry"]:
        kinds[entry["resource"]["resourceType"]] = kinds.get(entry["resource"]["resourceType"], 0) + 1
    assert (kinds["Patient"], kinds["ResearchStudy"], kinds["MedicationStatement"]) == (306, 1, 109)
    vs_rows = len((PILOT / "vs.csv").read_text(encoding="utf-8").splitlines()) - 1
    assert kinds["Observation"] == vs_rows + 306  # and one age per DM row


def _dm(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    doc = dataset_json(PILOT / "dm.xpt")
    doc["rows"] = doc["rows"][:3]
    doc["records"] = 3
    return tmp_path / "dm.json", doc


def _read_all(path: Path) -> None:
    with open_table(path) as table:
        for _ in table.rows():
            pass


def _refused(path: Path, doc: Any) -> InputError:
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc, encoding="utf-8")
    with pytest.raises(InputError) as info:
        _read_all(path)
    assert info.value.file == path.name
    return info.value


def test_malformed_data_sets_are_refused_naming_file_row_and_column(tmp_path: Path) -> None:
    path, doc = _dm(tmp_path)
    age = [c["name"] for c in doc["columns"]].index("AGE")

    v10 = {"clinicalData": {"studyOID": "x", "itemGroupData": {"IG.DM": {"records": 0, "items": [], "itemData": []}}}}
    assert "v1.0" in _refused(path, v10).message
    assert "only Dataset-JSON 1.1" in _refused(path, {**doc, "datasetJSONVersion": "2.0"}).message
    assert "not JSON" in _refused(path, "{").message
    assert "records says 5 rows, rows holds 3" in _refused(path, {**doc, "records": 5}).message

    short = json.loads(json.dumps(doc))
    short["rows"][1] = short["rows"][1][:-1]
    error = _refused(path, short)
    assert error.record == "row 2"
    assert "values where columns has" in error.message

    flag = json.loads(json.dumps(doc))
    flag["rows"][2][age] = True  # a boolean in a double column (True == 1 in Python: not taken for 1.0)
    flag["rows"][0][age] = 1
    error = _refused(path, flag)
    assert (error.record, error.field) == ("row 3", "AGE")
    assert "is not a number (dataType double)" in error.message

    text = json.loads(json.dumps(doc))
    text["rows"][1][0] = 7  # a number in the string column STUDYID
    error = _refused(path, text)
    assert (error.record, error.field) == ("row 2", "STUDYID")
    assert "is not a string" in error.message

    twice = json.loads(json.dumps(doc))
    twice["columns"][1]["name"] = "STUDYID"
    assert "column 'STUDYID' appears twice" in _refused(path, twice).message
    kind = json.loads(json.dumps(doc))
    kind["columns"][0]["dataType"] = "text"
    assert "dataType 'text' is not one of" in _refused(path, kind).message


def test_ndjson_with_a_missing_row_or_a_bad_line_is_refused(tmp_path: Path) -> None:
    path = write(PILOT / "ds.xpt", tmp_path, ndjson=True)
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    error = _refused(path, path.read_text(encoding="utf-8"))
    assert "the file holds" in error.message
    assert error.field == "records"
    lines[3] = lines[3][:-1]
    error = _refused(path, "\n".join(lines) + "\n")
    assert "not JSON (line 4)" in error.message
