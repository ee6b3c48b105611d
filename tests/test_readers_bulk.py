"""Bulk downloads read in place: ctg-studies.json.zip and AllPublicXML.zip, built here from corpus records."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from click.testing import CliRunner

from fhirconv.cli import main
from fhirconv.readers import ReadFailure, bulk, read_sources

CORPUS = Path(__file__).parent / "data" / "ctgov-corpus"
JSON = ("NCT02513394.json", "NCT00763412.json")
XML = ("NCT00002475.xml", "NCT00001177.xml")


def make_zip(path: Path, names: tuple[str, ...], folder: bool = False) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            member = f"{name[:7]}xxxx/{name}" if folder else name  # AllPublicXML: NCT0000xxxx/NCT00001177.xml
            archive.writestr(member, (CORPUS / name).read_bytes())
        archive.writestr("README.txt", "not a study")
    return path


def test_json_zip_gives_each_study(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "ctg-studies.json.zip", JSON)
    records = list(read_sources([str(archive)]))
    assert [r.study.nct_id for r in records if not isinstance(r, ReadFailure)] == [n[:11] for n in JSON]
    assert records[0].source == f"{archive}!{JSON[0]}"


def test_legacy_xml_zip_converts_to_ndjson_and_to_a_directory(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "AllPublicXML.zip", XML, folder=True)
    out = tmp_path / "all.ndjson"
    result = CliRunner().invoke(main, ["convert", str(archive), "--format", "ndjson", "-o", str(out), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    studies = [r for r in map(json.loads, out.read_text().splitlines()) if r["resourceType"] == "ResearchStudy"]
    assert sorted(s["identifier"][0]["value"] for s in studies) == sorted(n[:11] for n in XML)
    result = CliRunner().invoke(main, ["convert", str(archive), "-o", f"{tmp_path}/bundles/"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "bundles").iterdir()) == sorted(f"{n[:11]}.R4.json" for n in XML)


def test_a_member_too_large_is_refused_by_name_and_the_others_convert(tmp_path: Path, monkeypatch) -> None:
    archive = make_zip(tmp_path / "ctg-studies.json.zip", JSON)
    monkeypatch.setattr(bulk, "MEMBER_LIMIT", (CORPUS / JSON[1]).stat().st_size + 1)  # the first is larger
    records = list(read_sources([str(archive)]))
    assert isinstance(records[0], ReadFailure)
    assert f"{archive}!{JSON[0]}" in str(records[0].error)
    assert "more than" in str(records[0].error)
    assert records[1].study.nct_id == JSON[1][:11]


def test_a_damaged_zip_is_an_input_error_not_a_traceback(tmp_path: Path) -> None:
    archive = tmp_path / "ctg-studies.json.zip"
    archive.write_bytes(b"PK\x03\x04 cut short")
    result = CliRunner().invoke(main, ["convert", str(archive)])
    assert result.exit_code == 1
    assert "not a readable zip archive" in result.output
    assert str(archive) in result.output
