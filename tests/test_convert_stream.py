"""Combined output (stdout, -o FILE, NDJSON) is streamed one study at a time; it must be the text that
building the whole bundle at once gives (merge + one dumps), byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirconv.cli import main
from fhirconv.output.bundle import dumps
from fhirconv.output.ndjson import ndjson_lines
from fhirconv.pipeline.study import Converted, Summary, convert_records, merge, to_bundle
from fhirconv.versions import FhirVersion

CORPUS = Path(__file__).parent / "data" / "ctgov-corpus"
TEMPLATES = ("NCT02513394.json", "NCT00763412.json", "NCT00002475.xml")


def distinct_copies(folder: Path) -> list[str]:
    """Two copies of each template under new NCT IDs: the copies share their sponsor Organizations."""
    paths = []
    for n, name in enumerate(TEMPLATES * 2):
        data = (CORPUS / name).read_text(encoding="utf-8")
        new = f"NCT9{n:07d}"
        path = folder / f"{new}{Path(name).suffix}"
        path.write_text(data.replace(name[:11], new), encoding="utf-8")
        paths.append(str(path))
    return paths


def whole(paths: list[str], version: FhirVersion, kind: str) -> str:
    results = [r for p in paths for r in convert_records([p], version, Summary())]
    items = merge(r.items for r in results if isinstance(r, Converted))
    if kind == "ndjson":
        return "".join(ndjson_lines(items, version))
    return dumps(to_bundle(items, version, "transaction"))


@pytest.mark.parametrize("version", ["R4", "R5"])
@pytest.mark.parametrize("form", ["stdout", "file", "ndjson"])
def test_streamed_output_is_the_whole_bundle_text(tmp_path: Path, version: str, form: str) -> None:
    paths = distinct_copies(tmp_path)
    args = ["convert", *paths, "--fhir-version", version, "-q"]
    target = tmp_path / "out.txt"
    if form != "stdout":
        args += ["-o", str(target)] + (["--format", "ndjson"] if form == "ndjson" else [])
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    text = result.stdout if form == "stdout" else target.read_text(encoding="utf-8")
    expected = whole(paths, FhirVersion.parse(version), "ndjson" if form == "ndjson" else "bundle")
    assert text == expected
    # The shared sponsors are given once: no fullUrl (or NDJSON id) repeats.
    if form == "ndjson":
        ids = [(r["resourceType"], r["id"]) for r in map(json.loads, text.splitlines())]
    else:
        ids = [e["fullUrl"] for e in json.loads(text)["entry"]]
    assert len(ids) == len(set(ids)) > 6


def test_nothing_converted_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    target = tmp_path / "out.json"
    result = CliRunner().invoke(main, ["convert", str(bad), "-o", str(target)])
    assert result.exit_code != 0
    assert not target.exists()


@pytest.mark.parametrize("form", ["stdout", "file", "dir", "ndjson"])
def test_jobs_give_the_same_bytes_as_one_job(tmp_path: Path, form: str) -> None:
    source = tmp_path / "in"
    source.mkdir()
    paths = distinct_copies(source)
    (source / "bad.json").write_text("{}", encoding="utf-8")  # a failure among them, reported in order
    (source / "again.json").write_text(Path(paths[0]).read_text(encoding="utf-8"), encoding="utf-8")
    outputs = []
    for jobs in ("1", "2", "3"):
        target = tmp_path / f"out{jobs}"
        args = ["convert", str(source), "--jobs", jobs]
        if form == "file":
            args += ["-o", f"{target}.json"]
        elif form == "dir":
            args += ["-o", f"{target}/"]
        elif form == "ndjson":
            args += ["--format", "ndjson", "-o", f"{target}.ndjson"]
        result = CliRunner().invoke(main, [*args])
        assert result.exit_code == 1  # bad.json
        if form == "stdout":
            text = result.stdout
        elif form == "dir":
            text = "".join(f"{p.name}\n{p.read_text()}" for p in sorted(target.iterdir()))
        else:
            text = next(tmp_path.glob(f"out{jobs}.*")).read_text(encoding="utf-8")
        outputs.append((text, result.stderr))
    assert "records read: 8, converted: 6, duplicates skipped: 1, failed: 1" in outputs[0][1]
    assert outputs[0][0]
    assert outputs[1] == outputs[0]
    assert outputs[2] == outputs[0]
