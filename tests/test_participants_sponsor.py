"""SDTM from another sponsor, shaped unlike the pilot: other file names, no TS/TA, codes and units
outside fhirconv's tables (tests/data/participants/acme)."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirconv.cli import main
from fhirconv.errors import InputError
from fhirconv.model.participants import Participant, SourceRef
from fhirconv.readers.participants import read_participants, table_names
from fhirconv.readers.trial_design import study_from_participants

ACME = Path(__file__).parent / "data" / "participants" / "acme"
PILOT = Path(__file__).parent / "data" / "participants" / "pilot"


def test_table_name_from_domain_column_else_file_name_prefix(tmp_path: Path) -> None:
    (tmp_path / "DM.XPT").write_bytes((PILOT / "dm.xpt").read_bytes())
    (tmp_path / "dm_study01.csv").write_text("STUDYID,USUBJID\nS,1\n")
    (tmp_path / "dm.xpt.gz").write_bytes(gzip.compress((PILOT / "dm.xpt").read_bytes()))
    (tmp_path / "results.csv").write_text("STUDYID,DOMAIN,USUBJID\nS,lb,1\n")
    (tmp_path / "quals.csv").write_text("STUDYID,RDOMAIN,USUBJID,QNAM,QVAL\nS,AE,1,X,Y\n")
    (tmp_path / "participants.csv").write_text("subject_id\n1\n")
    (tmp_path / "adverse_events.csv").write_text("subject_id\n1\n")
    (tmp_path / "labs.csv").write_text("STUDYID,DOMAIN,USUBJID\nS,LB,1\n")  # a spec's own table name
    names = table_names(sorted(tmp_path.iterdir()), {"dm", "participants", "adverse_events", "labs"})
    assert {p.name: n for p, n in names.items()} == {
        "DM.XPT": "dm",
        "dm_study01.csv": "dm",  # no DOMAIN column: the name's prefix
        "dm.xpt.gz": "dm",
        "results.csv": "lb",  # DOMAIN, case-insensitive
        "quals.csv": "suppae",  # supplemental qualifiers: RDOMAIN
        "participants.csv": "participants",  # a name a layout knows is kept whole
        "adverse_events.csv": "adverse_events",
        "labs.csv": "labs",
    }


def test_sponsor_files_are_found_by_domain() -> None:
    data = read_participants(ACME)
    assert data.files["dm"] == ["DM_ACME01.CSV"]
    assert data.files["lb"] == ["lab_results.csv"]
    assert data.files["vs"] == ["VITALS-ACME01.CSV.GZ"]
    assert data.files["ae"] == ["ae_acme01.csv"]
    assert data.design is None


def test_minimal_study_from_dm() -> None:
    study = study_from_participants(read_participants(ACME).participants)
    assert study.nct_id == "ACME-01"
    assert [a.label for a in study.arm_groups] == ["Drug A 10 mg", "Comparator"]  # no Screen Failure
    assert study.brief_title is None


def test_minimal_study_needs_one_studyid() -> None:
    with pytest.raises(InputError, match="no STUDYID") as info:
        study_from_participants([Participant("1", SourceRef("dm.csv", 1))])
    assert (info.value.file, info.value.field) == ("dm.csv", "STUDYID")
    two = [
        Participant("1", SourceRef("dm.csv", 1), study_id="A"),
        Participant("2", SourceRef("dm.csv", 2), study_id="B"),
    ]
    with pytest.raises(InputError, match="several studies in STUDYID: A, B"):
        study_from_participants(two)


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_sponsor_trial_converts_without_a_refusal(tmp_path: Path, version: str) -> None:
    out = tmp_path / "acme.json"
    result = CliRunner().invoke(
        main, ["convert", "--participants", str(ACME), "--fhir-version", version, "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith("warning: no registry record and no trial-design domains (TS/TA): ResearchStudy ACME-01")
    # Observations: 10 result rows and 3 ages (DM.AGE)
    assert "participant resources made: AdverseEvent 1, Observation 13, Patient 3, ResearchSubject 3" in lines
    assert "note: 2 × LBTESTCD CRPHS: not in sdtm-lbtestcd-loinc, coded with its CDISC code only" in lines
    assert "note: 1 × VSSTRESU 'kgf': not in sdtm-unit-ucum, kept as unit text without a UCUM code" in lines
    bundle = json.loads(out.read_text())
    resources = [e["resource"] for e in bundle["entry"]]
    (study,) = [r for r in resources if r["resourceType"] == "ResearchStudy"]
    assert study["identifier"][0]["value"] == "ACME-01"
    grip = next(r for r in resources if r["resourceType"] == "Observation" and r["code"]["text"] == "Grip Strength")
    assert grip["code"]["coding"] == [
        {"system": "http://www.cdisc.org/sdtm-ct/VSTESTCD", "code": "GRIPSTR", "display": "Grip Strength"}
    ]
    assert grip["valueQuantity"] == {"value": 31.5, "unit": "kgf"}


def test_ts_without_ta_takes_the_arms_from_dm(tmp_path: Path) -> None:
    folder = tmp_path / "pilot"
    folder.mkdir()
    for name in ("dm.xpt", "ts.xpt"):
        shutil.copy(PILOT / name, folder / name)
    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, ["convert", "--participants", str(folder), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "warning: no trial arms (TA): the ResearchStudy's arms are DM's ARM values" in result.stderr
