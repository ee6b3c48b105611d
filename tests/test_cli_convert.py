"""`fhirconv convert` driven through click's CliRunner: outputs, summaries, bad input, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import fhirconv.pipeline.study
from fhirconv.cli import main
from fhirconv.output.bundle import Keyed

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[1]
SEED = DATA / "seed" / "NCT04382547.txt"
CORPUS = DATA / "ctgov-corpus"
BAD = DATA / "cli"
EXAMPLE = ROOT / "examples" / "NCT04382547"


def run(*args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(main, list(args), input=stdin)


def entries(bundle: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype]


def test_one_record_to_stdout_as_an_r4_transaction() -> None:
    result = run("convert", str(SEED))
    assert result.exit_code == 0, result.output
    bundle = json.loads(result.stdout)
    assert bundle["type"] == "transaction"
    (study,) = entries(bundle, "ResearchStudy")
    assert study["identifier"][0] == {"use": "official", "system": "https://clinicaltrials.gov", "value": "NCT04382547"}
    assert "arm" in study  # R4 shape
    assert result.stderr.strip() == "records read: 1, converted: 1, failed: 0"


def test_r5_collection() -> None:
    result = run("convert", str(SEED), "--fhir-version", "r5", "--bundle", "collection", "-q")
    assert result.exit_code == 0, result.output
    bundle = json.loads(result.stdout)
    assert bundle["type"] == "collection"
    assert all("request" not in e for e in bundle["entry"])
    (study,) = entries(bundle, "ResearchStudy")
    assert [g["linkId"] for g in study["comparisonGroup"]] == ["arm-1", "arm-2"]
    assert result.stderr == ""


def test_same_input_gives_byte_identical_files(tmp_path: Path) -> None:
    for name in ("a.json", "b.json"):
        assert run("convert", str(SEED), str(CORPUS / "NCT02210780.json"), "-o", str(tmp_path / name)).exit_code == 0
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_directory_output_gets_one_bundle_per_study(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("convert", str(SEED), str(CORPUS / "NCT00973089.json"), "-o", f"{out}/", "--fhir-version", "R5")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["NCT00973089.R5.json", "NCT04382547.R5.json"]


def test_combined_bundle_keeps_shared_resources_once(tmp_path: Path) -> None:
    # Two studies with the same lead sponsor (Assiut University): one Organization in the combined bundle.
    out = tmp_path / "both.json"
    a, b = CORPUS / "NCT04339322.classic.json", CORPUS / "NCT04779944.classic.json"
    result = run("convert", str(a), str(b), "-o", str(out))
    assert result.exit_code == 0, result.output
    bundle = json.loads(out.read_text())
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(urls) == len(set(urls))
    studies = entries(bundle, "ResearchStudy")
    assert len(studies) == 2
    assert studies[0]["sponsor"] == studies[1]["sponsor"]
    assert [o["name"] for o in entries(bundle, "Organization")].count("Assiut University") == 1


def test_the_same_study_twice_is_reported_not_silently_dropped(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    xml, classic = CORPUS / "NCT00023673.xml", CORPUS / "NCT00023673.classic.json"
    result = run("convert", str(xml), str(classic), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert f"warning: NCT00023673 was read from {xml} already; the record in {classic} is skipped" in result.stderr
    assert result.stderr.splitlines()[-1] == "records read: 2, converted: 1, duplicates skipped: 1, failed: 0"
    assert len(entries(json.loads(out.read_text()), "ResearchStudy")) == 1


def test_stdin() -> None:
    result = run("convert", "-", "-q", stdin=(CORPUS / "NCT00973089.json").read_text())
    assert result.exit_code == 0, result.output
    assert entries(json.loads(result.stdout), "ResearchStudy")[0]["status"] == "withdrawn"


def test_ndjson_lines_have_ids_and_relative_references() -> None:
    result = run("convert", str(SEED), "--format", "ndjson", "-q")
    assert result.exit_code == 0, result.output
    resources = [json.loads(line) for line in result.stdout.splitlines()]
    ids = {f"{r['resourceType']}/{r['id']}" for r in resources}
    study = next(r for r in resources if r["resourceType"] == "ResearchStudy")
    assert study["sponsor"]["reference"] in ids
    assert all(s["reference"] in ids for s in study["site"])
    assert "urn:uuid:" not in result.stdout


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("not_a_study.json", None),
        ("malformed.json", None),
        ("malformed.xml", None),
        ("no_nct_id.json", "identificationModule.nctId"),
        ("unknown_enum.json", "statusModule.overallStatus"),
    ],
)
def test_bad_input_is_named_and_the_others_still_convert(tmp_path: Path, name: str, field: str | None) -> None:
    out = tmp_path / "out.json"
    result = run("convert", str(BAD / name), str(SEED), "-o", str(out))
    assert result.exit_code == 1
    error = next(line for line in result.stderr.splitlines() if line.startswith("error:"))
    assert str(BAD / name) in error
    if field:
        assert f"field {field}" in error
    if name == "unknown_enum.json":
        assert "NCT00973089" in error
        assert "SLEEPING" in error
    assert "Traceback" not in result.output
    assert result.stderr.splitlines()[-1] == "records read: 2, converted: 1, failed: 1"
    assert len(entries(json.loads(out.read_text()), "ResearchStudy")) == 1


def test_nothing_is_written_when_every_record_fails(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    result = run("convert", str(BAD / "malformed.json"), "-o", str(out))
    assert result.exit_code == 1
    assert list(tmp_path.iterdir()) == []


def test_usage_errors_exit_2() -> None:
    assert run("convert").exit_code == 2
    result = run("convert", str(SEED), "--fhir-version", "R6")
    assert result.exit_code == 2
    assert "R6" in result.output
    assert run("convert", str(SEED), "--timezone", "Europe/Minsk").exit_code == 2
    missing = run("convert", "no/such/file.json")
    assert missing.exit_code == 2
    assert "no/such/file.json" in missing.stderr


def _invalid_study(study: Any, version: Any, **_: Any) -> list[Keyed]:
    # A fault the mapping cannot produce: a status code outside R4's required value set.
    return [Keyed({"resourceType": "ResearchStudy", "status": "sleeping"}, "https://clinicaltrials.gov", study.nct_id)]


def test_invalid_output_is_refused_unless_allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fhirconv.pipeline.study, "map_study", _invalid_study)
    out = tmp_path / "out.json"
    refused = run("convert", str(SEED), "-o", str(out))
    assert refused.exit_code == 1
    assert "ResearchStudy.status" in refused.stderr
    assert not out.exists()
    allowed = run("convert", str(SEED), "-o", str(out), "--allow-invalid")
    assert allowed.exit_code == 0
    assert "warning: writing invalid output" in allowed.stderr
    assert entries(json.loads(out.read_text()), "ResearchStudy")[0]["status"] == "sleeping"


def test_traceback_flag_shows_the_traceback_and_keeps_the_exit_code() -> None:
    bad = str(DATA / "participants" / "bad" / "bad_date")
    traced = run("--traceback", "convert", str(SEED), "--participants", bad)
    plain = run("convert", str(SEED), "--participants", bad)
    assert traced.exit_code == plain.exit_code == 1
    assert "Traceback (most recent call last)" in traced.stderr
    assert "InputError" in traced.stderr
    assert "Traceback" not in plain.stderr


# --- participant data -------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["sdtm", "simple"])
def test_example_study_with_participants_in_one_bundle(tmp_path: Path, layout: str) -> None:
    out = tmp_path / "bundle.json"
    result = run("convert", str(SEED), "--participants", str(EXAMPLE / "participants" / layout), "-o", str(out))
    assert result.exit_code == 0, result.output
    bundle = json.loads(out.read_text())
    counts = {t: len(entries(bundle, t)) for t in ("Patient", "ResearchSubject", "ResearchStudy", "AdverseEvent")}
    assert counts == {"Patient": 32, "ResearchSubject": 32, "ResearchStudy": 1, "AdverseEvent": 42}
    # Observations: 917 result rows and 32 ages (DM.AGE)
    made = "participant resources made: AdverseEvent 42, Observation 949, Patient 32, ResearchSubject 32"
    assert made in result.stderr


@pytest.mark.parametrize("case", sorted(p.name for p in (DATA / "participants" / "bad").iterdir()))
def test_bad_participant_rows_write_nothing(tmp_path: Path, case: str) -> None:
    out = tmp_path / "bundle.json"
    result = run("convert", str(SEED), "--participants", str(DATA / "participants" / "bad" / case), "-o", str(out))
    assert result.exit_code == 1, result.output
    assert not out.exists()
    error = next(line for line in result.stderr.splitlines() if line.startswith("error:"))
    assert ".csv" in error  # names the file
    assert "Traceback" not in result.output


def test_sdtm_trial_design_supplies_the_study(tmp_path: Path) -> None:
    out = tmp_path / "pilot.ndjson"
    pilot = DATA / "participants" / "pilot"
    result = run("convert", "--participants", str(pilot), "--format", "ndjson", "-o", str(out))
    assert result.exit_code == 0, result.output
    resources = [json.loads(line) for line in out.read_text().splitlines()]
    (study,) = [r for r in resources if r["resourceType"] == "ResearchStudy"]
    assert study["identifier"][0]["value"] == "CDISCPILOT01"
    assert {a["name"] for a in study["arm"]} >= {"Placebo", "Xanomeline Low Dose", "Xanomeline High Dose"}
    patients = [r for r in resources if r["resourceType"] == "Patient"]
    assert len(patients) == 306
    subjects = {f"Patient/{p['id']}" for p in patients}
    observations = [r for r in resources if r["resourceType"] == "Observation"]
    assert observations
    assert all(o["subject"]["reference"] in subjects for o in observations)


def test_participants_need_one_study() -> None:
    sdtm = EXAMPLE / "participants" / "sdtm"
    result = run("convert", str(SEED), str(CORPUS / "NCT00973089.json"), "--participants", str(sdtm))
    assert result.exit_code == 2
    assert "exactly one study" in result.stderr


def _unknown_vocabulary(tmp_path: Path) -> Path:
    """The example's SDTM with a test code and a unit fhirconv's code tables do not know, on every WBC row."""
    import shutil

    folder = tmp_path / "sdtm"
    shutil.copytree(EXAMPLE / "participants" / "sdtm", folder)
    lb = folder / "lb.csv"
    lines = lb.read_text(encoding="utf-8").split("\n")
    lines = [ln.replace(",WBC,", ",ZZWBC,").replace("10^9/L", "kcells/uL") if ",WBC," in ln else ln for ln in lines]
    lb.write_text("\n".join(lines), encoding="utf-8")
    return folder


def test_unknown_vocabulary_is_carried_and_counted_not_refused(tmp_path: Path) -> None:
    out = tmp_path / "bundle.json"
    result = run("convert", str(SEED), "--participants", str(_unknown_vocabulary(tmp_path)), "-o", str(out))
    assert result.exit_code == 0, result.output
    obs = [r for r in entries(json.loads(out.read_text()), "Observation") if r["code"]["text"] == "Leukocytes"]
    assert obs
    assert all(
        o["code"]["coding"]
        == [{"system": "http://www.cdisc.org/sdtm-ct/LBTESTCD", "code": "ZZWBC", "display": "Leukocytes"}]
        for o in obs
    )
    assert all(o["valueQuantity"]["unit"] == "kcells/uL" and "code" not in o["valueQuantity"] for o in obs)
    notes = [line for line in result.stderr.splitlines() if "ZZWBC" in line or "kcells" in line]
    assert notes == [
        f"note: {len(obs)} × LBSTRESU 'kcells/uL': not in sdtm-unit-ucum, kept as unit text without a UCUM code",
        f"note: {len(obs)} × LBTESTCD ZZWBC: not in sdtm-lbtestcd-loinc, coded with its CDISC code only",
    ]


def test_strict_refuses_unknown_vocabulary(tmp_path: Path) -> None:
    out = tmp_path / "bundle.json"
    folder = _unknown_vocabulary(tmp_path)
    result = run("convert", str(SEED), "--participants", str(folder), "--strict", "-o", str(out))
    assert result.exit_code == 1, result.output
    assert not out.exists()
    assert "ZZWBC" in result.stderr
    assert "Traceback" not in result.output
