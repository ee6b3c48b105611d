"""The participant pipeline: ordering, row accounting, strict vs collecting errors, atomic NDJSON output."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fhirconv.errors import InputError, UnmappedCodeError
from fhirconv.model.participants import (
    AdverseEventRecord,
    Disposition,
    Measurement,
    Participant,
    RowRejected,
    SourceRef,
    TrialDesign,
)
from fhirconv.model.study import ArmGroup, Study
from fhirconv.output.bundle import Keyed
from fhirconv.output.ndjson import ndjson_lines
from fhirconv.pipeline.participants import ParticipantSummary, convert_participants, write_ndjson
from fhirconv.pipeline.study import map_study
from fhirconv.readers.participants import read_participants
from fhirconv.versions import FhirVersion

STUDY = Study(nct_id="NCT04382547", arm_groups=[ArmGroup("mesenchymal stem cells"), ArmGroup("control")])


@dataclass
class Data:
    """Participant records as a reader hands them over (fits pipeline.ParticipantSource)."""

    participants: list[Participant]
    dispositions: list[Disposition]
    measurements: list[Measurement | RowRejected]
    adverse_events: list[AdverseEventRecord | RowRejected]
    rejected: list[RowRejected] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)
    design: TrialDesign | None = None


def data(**changes: object) -> Data:
    dm = [
        Participant("S-1", SourceRef("dm.csv", 1), sex="M", arm="control", actual_arm="control"),
        Participant("S-2", SourceRef("dm.csv", 2), sex="F", arm="Mesenchymal Stem Cells"),
    ]
    ds = [
        Disposition("S-1", SourceRef("ds.csv", 1), "COMPLETED", "DISPOSITION EVENT", "2020-04-23"),
        Disposition("S-1", SourceRef("ds.csv", 2), "FINAL LAB VISIT", "OTHER EVENT", "2020-04-24"),
        Disposition("S-2", SourceRef("ds.csv", 3), "ADVERSE EVENT", "DISPOSITION EVENT", "2020-04-10"),
    ]
    lb = [
        Measurement("S-1", SourceRef("lb.csv", i), "LB", "PLAT", seq=i, std_value=150.0 + i, std_unit="10^9/L")
        for i in (1, 2, 3)
    ]
    ae: list[AdverseEventRecord | RowRejected] = [
        AdverseEventRecord("S-2", SourceRef("ae.csv", 1), "rash", seq=1, severity="MILD", outcome="RECOVERED/RESOLVED")
    ]
    d = Data(dm, ds, list(lb), ae, row_counts={"dm.csv": 2, "ds.csv": 3, "lb.csv": 3, "ae.csv": 1})
    for k, v in changes.items():
        setattr(d, k, v)
    return d


@pytest.mark.parametrize("version", [FhirVersion.R4, FhirVersion.R5])
def test_converts_and_accounts_for_every_row(version: FhirVersion) -> None:
    from fhirconv.validation.schema import schema_findings

    summary = ParticipantSummary()
    items = list(convert_participants(data(), STUDY, version, summary=summary))
    types = [i.resource_type for i in items]
    assert types == ["Patient", "ResearchSubject"] * 2 + ["Observation"] * 3 + ["AdverseEvent"]
    assert summary.resources == {"Patient": 2, "ResearchSubject": 2, "Observation": 3, "AdverseEvent": 1}
    assert summary.unbalanced() == []
    assert summary.files["ds.csv"].merged == 3
    assert summary.files["lb.csv"].converted == 3
    assert any("OTHER EVENT" in note for note in summary.notes)
    rs2 = items[3].resource
    if version is FhirVersion.R4:
        assert rs2["assignedArm"] == "mesenchymal stem cells"  # the study's spelling
    for item in items:
        assert [f for f in schema_findings(item.resource, version) if f.severity == "error"] == []


def test_unknown_subject_raises_with_location() -> None:
    bad = Measurement("S-9", SourceRef("lb.csv", 4), "LB", "PLAT", seq=4, std_value=1.0, std_unit="10^9/L")
    d = data()
    d.measurements.append(bad)
    with pytest.raises(InputError) as info:
        list(convert_participants(d, STUDY, FhirVersion.R4))
    assert (info.value.file, info.value.record, info.value.field) == ("lb.csv", "row 4", "USUBJID")


def test_collect_mode_reports_every_bad_row_and_still_balances() -> None:
    d = data()
    d.measurements.append(
        Measurement("S-1", SourceRef("lb.csv", 4), "LB", "PLAT", seq=4, std_value=1.0, std_unit="bogus")
    )
    d.measurements.append(RowRejected(SourceRef("lb.csv", 5), "LBDTC", "unparseable date '2020-99'"))
    d.adverse_events.append(AdverseEventRecord("S-1", SourceRef("ae.csv", 2), "x", seq=2, outcome="MAYBE"))
    d.row_counts.update({"lb.csv": 5, "ae.csv": 2})
    summary = ParticipantSummary()
    items = list(convert_participants(d, STUDY, FhirVersion.R5, strict=True, summary=summary, on_error="collect"))
    assert len(items) == 8
    assert summary.unbalanced() == []
    assert [(r.file, r.row, r.column) for r in summary.rejections] == [
        ("lb.csv", 4, "LBSTRESU"),
        ("lb.csv", 5, "LBDTC"),
        ("ae.csv", 2, "AEOUT"),
    ]
    assert any("rejected: lb.csv row 4, column LBSTRESU" in line for line in summary.lines())


def test_arm_not_in_study_stops_the_run() -> None:
    d = data()
    d.participants[1].arm = "placebo"
    with pytest.raises(InputError) as info:
        list(convert_participants(d, STUDY, FhirVersion.R4))
    assert info.value.field == "ARM"


def test_strict_unknown_unit_stops_the_run() -> None:
    d = data()
    d.measurements[0].std_unit = "furlongs"  # type: ignore[union-attr]
    with pytest.raises(UnmappedCodeError):
        list(convert_participants(d, STUDY, FhirVersion.R4, strict=True))


def test_unknown_unit_and_test_code_are_carried_and_counted_once_per_cause() -> None:
    d = data()
    for m in d.measurements:
        m.std_unit = "furlongs"  # type: ignore[union-attr]
    d.measurements.append(
        Measurement("S-1", SourceRef("lb.csv", 9), "LB", "XYZZY", seq=9, test_name="Xyzzy", std_value=2.5)
    )
    summary = ParticipantSummary()
    items = list(convert_participants(d, STUDY, FhirVersion.R4, summary=summary, on_error="collect"))
    assert summary.rejections == []
    obs = [i.resource for i in items if i.resource_type == "Observation"]
    assert len(obs) == len(d.measurements)
    carried = next(o for o in obs if o["code"]["coding"][0]["code"] == "XYZZY")
    assert carried["code"] == {
        "coding": [{"system": "http://www.cdisc.org/sdtm-ct/LBTESTCD", "code": "XYZZY", "display": "Xyzzy"}],
        "text": "Xyzzy",
    }
    furlongs = [o["valueQuantity"] for o in obs if o["valueQuantity"].get("unit") == "furlongs"]
    assert furlongs
    assert all("system" not in q and "code" not in q for q in furlongs)
    lines = [line for line in summary.lines() if line.startswith("note:") and "LB" in line]
    assert lines == [
        f"note: {len(furlongs)} × LBSTRESU 'furlongs': not in sdtm-unit-ucum, kept as unit text without a UCUM code",
        "note: 1 × LBTESTCD XYZZY: not in sdtm-lbtestcd-loinc, coded with its CDISC code only",
    ]


def test_ndjson_files_per_type_and_r4_adverse_event_ids(tmp_path: Path) -> None:
    def items() -> Iterator[Keyed]:  # the study first: the participants' resources refer to it
        return itertools.chain(map_study(STUDY, FhirVersion.R4), convert_participants(data(), STUDY, FhirVersion.R4))

    counts = write_ndjson(items(), tmp_path, FhirVersion.R4)
    assert counts == {
        "ResearchStudy.ndjson": 1,
        "Provenance.ndjson": 1,
        "Patient.ndjson": 2,
        "ResearchSubject.ndjson": 2,
        "Observation.ndjson": 3,
        "AdverseEvent.ndjson": 1,
    }
    (ae,) = [json.loads(line) for line in (tmp_path / "AdverseEvent.ndjson").read_text().splitlines()]
    assert ae["id"].startswith("fc-")
    obs = [json.loads(line) for line in (tmp_path / "Observation.ndjson").read_text().splitlines()]
    assert [o["valueQuantity"]["value"] for o in obs] == [151, 152, 153]
    # One NDJSON writer: the per-type files hold exactly the lines of the single-file output (every
    # resource with its id, references relative), not urn:uuid references nothing outside a Bundle resolves.
    one_file = list(ndjson_lines(items(), FhirVersion.R4))
    per_type = [line for name in counts for line in (tmp_path / name).read_text().splitlines(keepends=True)]
    assert sorted(per_type) == sorted(one_file)
    assert "urn:uuid:" not in "".join(per_type)
    patients = {p["id"] for p in map(json.loads, (tmp_path / "Patient.ndjson").read_text().splitlines())}
    assert {o["subject"]["reference"] for o in obs} <= {f"Patient/{i}" for i in patients}


def test_ndjson_failure_leaves_no_files(tmp_path: Path) -> None:
    def items() -> Iterator[Keyed]:
        yield from convert_participants(data(), STUDY, FhirVersion.R4)
        raise InputError("boom")

    with pytest.raises(InputError):
        write_ndjson(itertools.chain(map_study(STUDY, FhirVersion.R4), items()), tmp_path, FhirVersion.R4)
    assert list(tmp_path.iterdir()) == []


def test_qualifier_rows_rejected_while_streaming_are_reported_and_balance(tmp_path: Path) -> None:
    folder = Path(__file__).parent / "data" / "participants" / "bad" / "orphan_supplemental"
    supp = tmp_path / "case"
    supp.mkdir()
    for f in folder.iterdir():
        (supp / f.name).write_bytes(f.read_bytes())
    lines = (supp / "supplb.csv").read_text(encoding="utf-8").splitlines()
    (supp / "supplb.csv").write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")  # + a duplicate
    data = read_participants(supp, on_error="collect")
    summary = ParticipantSummary()
    list(convert_participants(data, STUDY, FhirVersion.R4, summary=summary, on_error="collect"))
    assert [(r.file, r.row, r.column) for r in summary.rejections] == [
        ("supplb.csv", 3, "QNAM"),  # the duplicate: found when LB starts streaming
        ("supplb.csv", 2, "IDVARVAL"),  # the orphan: known once LB has been read
    ]
    count = summary.files["supplb.csv"]
    assert (count.read, count.merged, count.rejected) == (3, 1, 2)
    assert summary.unbalanced() == []
    with pytest.raises(InputError, match="duplicate qualifier"):
        list(convert_participants(read_participants(supp, on_error="collect"), STUDY, FhirVersion.R4))
