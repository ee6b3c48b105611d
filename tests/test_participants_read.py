"""read_participants: SDTM (CDISC pilot subset, synthetic example) and simple CSV into records; bad input."""

from __future__ import annotations

import dataclasses
import filecmp
import runpy
import shutil
from pathlib import Path
from typing import Any

import pytest

from fhirconv.errors import InputError, UsageError
from fhirconv.model.participants import Measurement, RowRejected
from fhirconv.readers.participants import read_participants

DATA = Path(__file__).parent / "data" / "participants"
PILOT = DATA / "pilot"
BAD = DATA / "bad"
ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "NCT04382547" / "participants"


def _plain(record: Any) -> dict[str, Any]:
    out = dataclasses.asdict(record)
    out.pop("source")
    return out


# --- the CDISC pilot subset (XPT for DM/DS/TS/TA, CSV row subsets for LB/VS/SUPPLB/AE/SUPPAE) ---


@pytest.fixture(scope="module")
def pilot() -> Any:
    data = read_participants(PILOT)
    measurements = list(data.measurements)
    events = list(data.adverse_events)
    return data, measurements, events


def test_pilot_is_detected_as_sdtm_and_read_whole(pilot: Any) -> None:
    data, measurements, events = pilot
    assert data.layout == "sdtm"
    assert len(data.participants) == 306
    assert len(data.dispositions) == 596
    assert data.rejected == []
    assert data.row_counts == {
        "dm.xpt": 306,
        "ds.xpt": 596,
        "lb.csv": 758,
        "vs.csv": 379,
        "ae.csv": 9,
    }
    assert data.merged_counts == {"supplb.csv": 814, "suppae.csv": 9, "ts.xpt": 33, "ta.xpt": 8}
    assert data.ignored_files == ["te.xpt"]  # TA names the elements; TE is not needed
    assert len(measurements) == 758 + 379
    assert len(events) == 9
    assert not any(isinstance(m, RowRejected) for m in measurements)


def test_pilot_participant_fields(pilot: Any) -> None:
    data, _, _ = pilot
    first = data.participants[0]
    assert first.source.file == "dm.xpt"
    assert first.source.row == 1
    assert (first.subject_id, first.sex, first.age, first.age_unit) == ("01-701-1015", "F", 63.0, "YEARS")
    assert (first.arm, first.arm_code, first.actual_arm) == ("Placebo", "Pbo", "Placebo")
    assert first.reference_start == "2014-01-02"
    assert first.informed_consent is None  # RFICDTC is blank in the pilot
    screen_failures = [p for p in data.participants if p.arm == "Screen Failure"]
    assert len(screen_failures) == 52
    assert all(p.reference_start is None for p in screen_failures)
    assert sum(1 for p in data.participants if p.death_flag) == 3


def test_pilot_lab_row_with_supplemental_qualifiers(pilot: Any) -> None:
    _, measurements, _ = pilot
    lb = [m for m in measurements if m.domain == "LB"]
    m = lb[0]
    assert isinstance(m, Measurement)
    assert (m.subject_id, m.seq, m.test_code, m.category) == ("01-701-1015", 1, "ALB", "CHEMISTRY")
    assert (m.result_text, m.result_unit, m.std_text, m.std_value, m.std_unit) == ("3.8", "g/dL", "38", 38.0, "g/L")
    assert (m.ref_low, m.ref_high, m.ref_text_low, m.normal_indicator) == (33.0, 49.0, "3.3", "NORMAL")
    assert (m.date, m.visit, m.visit_number, m.study_day, m.baseline) == (
        "2013-12-26T14:45",
        "SCREENING 1",
        1.0,
        -7,
        True,
    )
    assert m.extra == {"LBTMSHI": "0.8"}  # SUPPLB joined by IDVARVAL "       1" = LBSEQ 1
    # Every SUPPLB row landed on its LB row (LBTMSHI and the ENDPOINT flag).
    assert sum(len(x.extra) for x in lb) == 814


def test_csv_numbers_are_read_as_the_source_meant_them(pilot: Any) -> None:
    """The pilot's LB subset, exported from the XPT doubles, holds LBSTRESN 0.049999999999999996 and
    LBSTNRHI 0.19999999999999998: read at SAS's 15 significant digits, as the XPT reader reads them."""
    _, measurements, _ = pilot
    baso = next(m for m in measurements if m.domain == "LB" and m.test_code == "BASO" and m.std_text == "0.05")
    assert (baso.std_value, baso.ref_high, baso.ref_low) == (0.05, 0.2, 0.0)
    assert repr(baso.std_value) == "0.05"


def test_pilot_vital_signs_and_adverse_events(pilot: Any) -> None:
    _, measurements, events = pilot
    vs = [m for m in measurements if m.domain == "VS"]
    assert {m.test_code for m in vs} == {"SYSBP", "DIABP", "PULSE", "TEMP", "WEIGHT", "HEIGHT"}
    assert {m.position for m in vs} >= {"SUPINE", "STANDING"}
    ae = events[0]
    assert ae.subject_id == "01-701-1015"
    assert ae.decoded_term == "APPLICATION SITE ERYTHEMA"
    assert ae.serious is False
    assert ae.seriousness == []
    assert ae.treatment_emergent is True  # SUPPAE.AETRTEM
    assert ae.severity == "MILD"


def test_pilot_design_from_ts_and_ta(pilot: Any) -> None:
    data, _, _ = pilot
    design = data.design
    assert design is not None
    assert design.study_id == "CDISCPILOT01"
    assert design.parameters["TITLE"][0].startswith("Safety and Efficacy of the Xanomeline")
    assert [(code, arm) for code, arm, _ in design.arms] == [
        ("Pbo", "Placebo"),
        ("Xan_Hi", "Xanomeline High Dose"),
        ("Xan_Lo", "Xanomeline Low Dose"),
    ]
    assert design.arms[1][2] == "Screen → High_Start → High_Middle → High_End"


def test_streams_can_be_iterated_again(pilot: Any) -> None:
    data, measurements, _ = pilot
    again = list(data.measurements)
    assert [_plain(m) for m in again[:50]] == [_plain(m) for m in measurements[:50]]
    assert data.row_counts["lb.csv"] == 758  # set, not added, on the second pass


# --- the synthetic example: both layouts give the same records; the generator is reproducible ---


def test_example_sdtm_and_simple_csv_give_equal_records() -> None:
    sdtm = read_participants(EXAMPLE / "sdtm")
    simple = read_participants(EXAMPLE / "simple")
    assert (sdtm.layout, simple.layout) == ("sdtm", "simple-csv")
    assert len(sdtm.participants) == 32
    assert [_plain(p) for p in sdtm.participants] == [_plain(p) for p in simple.participants]
    assert [_plain(d) for d in sdtm.dispositions] == [_plain(d) for d in simple.dispositions]

    def key(m: dict[str, Any]) -> tuple[str, str, int]:
        return m["subject_id"], m["domain"], m["seq"]

    a = sorted((_plain(m) for m in sdtm.measurements), key=key)
    b = sorted((_plain(m) for m in simple.measurements), key=key)
    assert len(a) == 917
    assert a == b
    assert [_plain(e) for e in sdtm.adverse_events] == [_plain(e) for e in simple.adverse_events]
    assert sdtm.rejected == simple.rejected == []


def test_example_follows_the_protocol() -> None:
    data = read_participants(EXAMPLE / "sdtm")
    assert len(data.participants) == 32
    assert all(p.age is not None and 18 <= p.age <= 70 for p in data.participants)
    arms = [p.arm for p in data.participants]
    assert arms.count("mesenchymal stem cells") == arms.count("control") == 16
    rows = [m for m in data.measurements if isinstance(m, Measurement)]
    lab_codes = {m.test_code for m in rows if m.domain == "LB"}
    assert lab_codes == {"WBC", "LYM", "NEUT", "PLAT", "HGB", "ALT", "AST", "BILI"}
    assert {m.study_day for m in rows if m.domain == "LB"} == {1, 7, 21}
    assert {(m.test_code, m.std_unit) for m in rows if m.domain == "VS"} == {("OXYSAT", "%")}
    pcr = [m for m in rows if m.domain == "MB"]
    assert {m.std_text for m in pcr} == {"POSITIVE", "NEGATIVE"}
    assert {m.study_day for m in pcr} == {21}
    assert {m.method for m in rows if m.domain == "RE"} == {"CT SCAN"}
    events = list(data.adverse_events)
    assert all(e.grade is not None and e.relatedness and e.serious is not None for e in events)


def test_example_generator_reproduces_the_committed_files(tmp_path: Path) -> None:
    module = runpy.run_path(str(ROOT / "examples" / "make_participants.py"), run_name="not_main")
    module["generate"](tmp_path)
    for layout, names in (
        ("sdtm", ["dm", "ds", "lb", "vs", "mb", "re", "ae"]),
        ("simple", ["participants", "observations", "adverse_events"]),
    ):
        produced = sorted(p.name for p in (tmp_path / layout).iterdir())
        assert produced == sorted(f"{n}.csv" for n in names)
        for name in produced:
            assert filecmp.cmp(tmp_path / layout / name, EXAMPLE / layout / name, shallow=False), name


# --- bad input: one folder per case; each error names file, row and column ---


@pytest.mark.parametrize(
    ("case", "file", "row", "column", "message"),
    [
        ("unknown_subject", "lb.csv", 2, "USUBJID", "unknown subject 'MSC2-999'"),
        ("bad_date", "lb.csv", 3, "LBDTC", "not an ISO 8601 date"),
        ("bad_number", "lb.csv", 2, "LBSTRESN", "'4,2' is not a number"),
        ("duplicate_key", "lb.csv", 4, "LBSEQ", "duplicate key"),
        ("duplicate_subject", "dm.csv", 3, "USUBJID", "duplicate key USUBJID='MSC2-001'"),
        ("blank_term", "ae.csv", 2, "AETERM", "AETERM is blank"),
        ("orphan_supplemental", "supplb.csv", 2, "IDVARVAL", "no LB row with this LBSEQ"),
    ],
)
def test_bad_row_is_an_error_naming_file_row_column(case: str, file: str, row: int, column: str, message: str) -> None:
    def read_all() -> None:
        data = read_participants(BAD / case)
        list(data.measurements)
        list(data.adverse_events)

    with pytest.raises(InputError) as info:
        read_all()
    error = info.value
    assert (error.file, error.record, error.field) == (file, f"row {row}", column)
    assert message in error.message


@pytest.mark.parametrize(
    ("case", "file", "row", "column"),
    [
        ("unknown_subject", "lb.csv", 2, "USUBJID"),
        ("bad_number", "lb.csv", 2, "LBSTRESN"),
        ("duplicate_key", "lb.csv", 4, "LBSEQ"),
        ("orphan_supplemental", "supplb.csv", 2, "IDVARVAL"),
    ],
)
def test_collect_mode_rejects_the_row_and_keeps_the_rest(case: str, file: str, row: int, column: str) -> None:
    data = read_participants(BAD / case, on_error="collect")
    items = list(data.measurements)
    rejected = [m for m in items if isinstance(m, RowRejected)] + data.rejected
    assert [(r.source.file, r.source.row, r.column) for r in rejected] == [(file, row, column)]
    good = [m for m in items if isinstance(m, Measurement)]
    assert len(good) == data.row_counts["lb.csv"] - (1 if file == "lb.csv" else 0)


def test_missing_required_column() -> None:
    with pytest.raises(InputError, match="required column LBTESTCD is missing") as info:
        list(read_participants(BAD / "missing_column").measurements)
    assert (info.value.file, info.value.field) == ("lb.csv", "LBTESTCD")


def test_unknown_code_in_simple_csv() -> None:
    with pytest.raises(InputError) as info:
        read_participants(BAD / "unknown_code")
    error = info.value
    assert (error.file, error.record, error.field) == ("participants.csv", "row 2", "sex")
    assert "'robot'" in error.message


def test_layout_cannot_be_detected(tmp_path: Path) -> None:
    (tmp_path / "labs.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(UsageError, match="cannot tell the layout"):
        read_participants(tmp_path)


def test_two_files_for_one_domain_is_an_error(tmp_path: Path) -> None:
    shutil.copy(BAD / "bad_date" / "dm.csv", tmp_path / "dm.csv")
    shutil.copy(PILOT / "dm.xpt", tmp_path / "dm.xpt")
    with pytest.raises(UsageError, match="two files for table dm"):
        read_participants(tmp_path)


def test_files_can_be_given_one_by_one_and_gzipped(tmp_path: Path) -> None:
    import gzip

    with (EXAMPLE / "sdtm" / "lb.csv").open("rb") as src, gzip.open(tmp_path / "lb.csv.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    data = read_participants([EXAMPLE / "sdtm" / "dm.csv", tmp_path / "lb.csv.gz"])
    assert len(data.participants) == 32
    assert data.dispositions == []
    assert sum(1 for _ in data.measurements) == 760
    assert data.row_counts["lb.csv.gz"] == 760


def test_explicit_spec_and_capitalised_words(tmp_path: Path) -> None:
    (tmp_path / "participants.csv").write_text(
        "subject_id,sex,arm,disposition\nP1,Male,control,\nP2,FEMALE,control,Completed\n", encoding="utf-8"
    )
    data = read_participants(tmp_path, spec="simple-csv")
    assert [p.sex for p in data.participants] == ["M", "F"]
    assert [(d.subject_id, d.term, d.source.file) for d in data.dispositions] == [
        ("P2", "COMPLETED", "participants.csv (dispositions)")
    ]
    assert data.row_counts == {"participants.csv": 2, "participants.csv (dispositions)": 1}


def test_duplicate_key_found_when_rows_are_not_grouped_by_subject(tmp_path: Path) -> None:
    """Rows of one subject far apart: the duplicate is still found (through the key-hash runs)."""
    shutil.copy(BAD / "bad_date" / "dm.csv", tmp_path / "dm.csv")
    lines = ["USUBJID,LBSEQ,LBTESTCD"]
    for seq in range(1, 40):
        lines += [f"MSC2-001,{seq},WBC", f"MSC2-002,{seq},WBC"]
    good = len(lines) - 1
    lines.append("MSC2-001,17,WBC")  # row 79: same key as row 33
    (tmp_path / "lb.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = read_participants(tmp_path, on_error="collect")
    items = list(data.measurements)
    rejected = [m for m in items if isinstance(m, RowRejected)]
    assert [(r.source.row, r.column) for r in rejected] == [(good + 1, "LBSEQ")]
    assert "LBSEQ='17'" in rejected[0].reason
    assert len(items) - len(rejected) == good


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_example_layouts_convert_to_the_same_fhir(version: str) -> None:
    import json

    from fhirconv.model.study import ArmGroup, Study
    from fhirconv.pipeline.participants import convert_participants
    from fhirconv.versions import FhirVersion

    study = Study(nct_id="NCT04382547", arm_groups=[ArmGroup("mesenchymal stem cells"), ArmGroup("control")])
    out = {}
    for layout in ("sdtm", "simple"):
        data = read_participants(EXAMPLE / layout)
        items = convert_participants(data, study, FhirVersion(version))
        out[layout] = sorted(json.dumps(item.resource, sort_keys=True) for item in items)
    assert len(out["sdtm"]) == 32 + 32 + 917 + 32 + 42  # Patients, ResearchSubjects, results, ages, AEs
    assert out["sdtm"] == out["simple"]
