"""Participant errors a user can act on: the file's own column names, hints, no false follow-on errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fhirconv.errors import InputError
from fhirconv.model.study import ArmGroup, Study
from fhirconv.pipeline.participants import ParticipantSummary, convert_participants
from fhirconv.readers.participants import read_participants
from fhirconv.versions import FhirVersion

EXAMPLE = Path(__file__).parent.parent / "examples" / "NCT04382547" / "participants"
STUDY = Study(nct_id="NCT04382547", arm_groups=[ArmGroup("mesenchymal stem cells"), ArmGroup("control")])


def _layout(tmp_path: Path, layout: str) -> Path:
    folder = tmp_path / layout
    shutil.copytree(EXAMPLE / layout, folder)
    return folder


def _edit(path: Path, row: int, old: str, new: str) -> None:
    """Replace `old` by `new` in data row `row` (1-based, header not counted) of a CSV file."""
    lines = path.read_text(encoding="utf-8").split("\n")
    assert old in lines[row], (old, lines[row])
    lines[row] = lines[row].replace(old, new)
    path.write_text("\n".join(lines), encoding="utf-8")


def _summary(folder: Path, *, strict: bool = False) -> ParticipantSummary:
    summary = ParticipantSummary()
    data = read_participants(folder, on_error="collect")
    list(convert_participants(data, STUDY, FhirVersion.R4, strict=strict, summary=summary, on_error="collect"))
    return summary


def _rows(summary: ParticipantSummary) -> list[tuple[str, int, str | None, str]]:
    return [(r.file, r.row, r.column, r.reason) for r in summary.rejections]


# --- 1. the user's own column names, with a hint ---


def test_simple_csv_unknown_arm_names_the_arm_column(tmp_path: Path) -> None:
    folder = _layout(tmp_path, "simple")
    _edit(folder / "participants.csv", 1, "MSC,mesenchymal stem cells", "MSC,x")
    summary = _summary(folder)
    first = summary.rejections[0]
    assert (first.file, first.row, first.column) == ("participants.csv", 1, "actual_arm")
    assert "arm 'x' is not an arm of study NCT04382547 (arms: control, mesenchymal stem cells)" in first.reason
    assert first.hint
    _edit(folder / "participants.csv", 1, "mesenchymal stem cells,MSC,x", "x,MSC,")
    assert _summary(folder).rejections[0].column == "arm"


def test_simple_csv_unknown_unit_names_the_unit_column_and_the_map_to_extend(tmp_path: Path) -> None:
    folder = _layout(tmp_path, "simple")
    _edit(folder / "observations.csv", 1, "10^9/L", "furlongs")
    summary = _summary(folder, strict=True)
    assert _rows(summary) == [
        ("observations.csv", 1, "unit", "unit value 'furlongs' is not a code ConceptMap sdtm-unit-ucum knows")
    ]
    hint = summary.rejections[0].hint
    assert hint is not None
    assert "mappings/conceptmaps/sdtm-unit-ucum.json" in hint
    assert "(hint: add it to mappings/conceptmaps/sdtm-unit-ucum.json" in summary.lines()[-1]


def test_raise_mode_names_the_users_column_too(tmp_path: Path) -> None:
    folder = _layout(tmp_path, "simple")
    _edit(folder / "observations.csv", 1, "10^9/L", "furlongs")
    data = read_participants(folder)
    with pytest.raises(InputError) as info:
        list(convert_participants(data, STUDY, FhirVersion.R4, strict=True))
    error = info.value
    assert (error.file, error.record, error.field) == ("observations.csv", "row 1", "unit")
    assert error.message.startswith("unit value 'furlongs'")
    assert error.hint is not None
    assert "sdtm-unit-ucum.json" in error.hint


def test_sdtm_keeps_sdtm_column_names(tmp_path: Path) -> None:
    folder = _layout(tmp_path, "sdtm")
    _edit(folder / "lb.csv", 1, "10^9/L", "furlongs")
    first = _summary(folder, strict=True).rejections[0]
    assert (first.file, first.row, first.column) == ("lb.csv", 1, "LBSTRESU")
    assert first.reason.startswith("LBSTRESU value 'furlongs'")


def test_unknown_code_read_from_the_file_lists_the_allowed_words(tmp_path: Path) -> None:
    folder = _layout(tmp_path, "simple")
    _edit(folder / "participants.csv", 2, ",female,", ",femme,")
    data = read_participants(folder, on_error="collect")
    rejected = [r for r in data.rejected if r.source.file == "participants.csv"]
    assert [(r.source.row, r.column) for r in rejected] == [(2, "sex")]
    assert rejected[0].hint == (
        "use one of: female, male, undifferentiated, unknown; or add it to mappings/conceptmaps/simplecsv-sex.json"
    )


# --- 2. rows of a rejected subject say so, naming the subject's row; unknown subjects name the file ---


@pytest.mark.parametrize(
    ("layout", "file", "column", "subject_column", "others"),
    [
        ("simple", "participants.csv", "start_date", "subject_id", {"observations.csv", "adverse_events.csv"}),
        ("sdtm", "dm.csv", "RFSTDTC", "USUBJID", {"lb.csv", "vs.csv", "mb.csv", "re.csv", "ae.csv", "ds.csv"}),
    ],
)
def test_rows_of_a_subject_rejected_by_the_reader_name_its_row(
    tmp_path: Path, layout: str, file: str, column: str, subject_column: str, others: set[str]
) -> None:
    folder = _layout(tmp_path, layout)
    _edit(folder / file, 2, "2020-06-27,2020-07-17", "2020-06-32,2020-07-17")
    rows = _rows(_summary(folder))
    assert rows[0][:3] == (file, 2, column)
    follow = rows[1:]
    assert len(follow) > 30
    assert {r[3] for r in follow} == {f"its subject 'MSC2-002' was rejected ({file} row 2)"}
    assert {r[2] for r in follow} == {subject_column}
    assert {r[0] for r in follow} >= others


def test_rows_of_a_subject_rejected_by_the_mapping_name_its_row(tmp_path: Path) -> None:
    folder = _layout(tmp_path, "simple")
    _edit(folder / "participants.csv", 2, "control,CTRL,control", "other,CTRL,other")
    summary = _summary(folder)
    rows = _rows(summary)
    assert rows[0][:3] == ("participants.csv", 2, "arm")
    follow = rows[1:]
    assert {r[3] for r in follow} == {"its subject 'MSC2-002' was rejected (participants.csv row 2)"}
    files = {r[0] for r in follow}
    assert files == {"participants.csv (dispositions)", "observations.csv", "adverse_events.csv"}
    # Every row is still accounted for.
    assert summary.unbalanced() == []


def test_unknown_subject_names_the_participant_file(tmp_path: Path) -> None:
    folder = _layout(tmp_path, "simple")
    _edit(folder / "observations.csv", 3, "MSC2-001", "MSC2-999")
    assert _rows(_summary(folder)) == [
        ("observations.csv", 3, "subject_id", "unknown subject 'MSC2-999' (not in participants.csv)")
    ]


# --- 3. an impossible calendar date is a date error on the column, not a FHIR model message ---


@pytest.mark.parametrize("value", ["2020-02-30", "2021-02-29", "2020-04-31T10:00"])
def test_impossible_date_is_named_like_other_date_errors(tmp_path: Path, value: str) -> None:
    folder = _layout(tmp_path, "sdtm")
    _edit(folder / "dm.csv", 1, "2020-12-02,2020-12-22", f"{value},2020-12-22")
    rows = _rows(_summary(folder))
    assert rows[0][:3] == ("dm.csv", 1, "RFSTDTC")
    assert rows[0][3].startswith(f"RFSTDTC value {value!r} is not a valid date")
    assert "period" not in rows[0][3]


def test_leap_day_is_a_valid_date(tmp_path: Path) -> None:
    folder = _layout(tmp_path, "sdtm")
    _edit(folder / "dm.csv", 1, "2020-12-02,2020-12-22", "2020-02-29,2020-12-22")
    assert _summary(folder).rejections == []


# --- 4.-6. unreadable CSV: the right row, and what to do ---


def _participants(folder: Path, data: bytes) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "participants.csv").write_bytes(data)
    return folder


@pytest.mark.parametrize("rows_before", [1, 5000])  # in the first block decoded with the header, and later
def test_encoding_error_in_a_data_row_names_that_row(tmp_path: Path, rows_before: int) -> None:
    lines = ["subject_id,sex,arm"] + [f"S{i},male,control" for i in range(rows_before)] + ["S-x,male,Café"]
    folder = _participants(tmp_path / "p", "\n".join([*lines, "S-y,male,control", ""]).encode("cp1252"))
    with pytest.raises(InputError) as info:
        read_participants(folder)
    error = info.value
    assert (error.file, error.record) == ("participants.csv", f"row {rows_before + 1}")
    assert error.message == f"not UTF-8 text: byte 0xe9 at position {len('S-x,male,Caf') + 1} of line {rows_before + 2}"
    assert error.hint is not None
    assert error.hint.startswith("save the file as UTF-8")


def test_encoding_error_in_the_header_names_the_header(tmp_path: Path) -> None:
    folder = _participants(tmp_path / "p", "subject_id,sex,arm,née\nS1,male,control,\n".encode("cp1252"))
    with pytest.raises(InputError) as info:
        read_participants(folder)
    assert info.value.record == "header"
    assert "not UTF-8 text" in info.value.message


def test_unclosed_quote_is_named_with_its_row(tmp_path: Path) -> None:
    text = 'subject_id,sex,arm\nS1,male,control\nS2,female,"control\nS3,male,control\nS4,male,control\n'
    folder = _participants(tmp_path / "p", text.encode())
    with pytest.raises(InputError) as info:
        read_participants(folder)
    error = info.value
    assert (error.record, error.message) == ("row 2", "unterminated quoted field starting at row 2")
    assert error.hint is not None
    assert "quote" in error.hint


def test_a_closed_quote_over_several_lines_is_a_value(tmp_path: Path) -> None:
    text = 'subject_id,sex,arm,race\nS1,male,control,\nS2,female,control,"two\nlines"\n'
    data = read_participants(_participants(tmp_path / "p", text.encode()))
    assert [p.race for p in data.participants] == [None, "two\nlines"]


def test_mid_file_unclosed_quote_closed_by_a_later_one(tmp_path: Path) -> None:
    text = 'subject_id,sex,arm\nS1,male,"control\nS2,female,control",x\nS3,male,control\n'
    with pytest.raises(InputError, match="unterminated quoted field starting at row 1"):
        read_participants(_participants(tmp_path / "p", text.encode()))


def test_a_row_with_too_few_values_is_still_said_so(tmp_path: Path) -> None:
    folder = _participants(tmp_path / "p", b"subject_id,sex,arm\nS1,male,control\nS2,female\n")
    with pytest.raises(InputError, match="2 values where the header has 3 columns") as info:
        read_participants(folder)
    assert info.value.record == "row 2"


@pytest.mark.parametrize(("separator", "name"), [(";", "semicolon"), ("\t", "tab")])
def test_semicolon_or_tab_separated_file_is_told_to_use_commas(tmp_path: Path, separator: str, name: str) -> None:
    text = separator.join(["subject_id", "sex", "arm"]) + "\n" + separator.join(["S1", "male", "control"]) + "\n"
    folder = _participants(tmp_path / "p", text.encode())
    with pytest.raises(InputError, match="required column subject_id is missing") as info:
        read_participants(folder)
    assert info.value.hint is not None
    assert info.value.hint.startswith(f"the file must be comma-separated: its header looks {name}-separated")


def test_a_merely_missing_column_keeps_the_layout_hint(tmp_path: Path) -> None:
    folder = _participants(tmp_path / "p", b"subject_id,sex,note\nS1,male,a;b\n")
    with pytest.raises(InputError, match="required column arm is missing") as info:
        read_participants(folder)
    assert info.value.hint is not None
    assert "comma-separated" not in info.value.hint


# --- 7. a duplicate key names the row of its first occurrence ---


def test_duplicate_key_names_the_first_row(tmp_path: Path) -> None:
    folder = _layout(tmp_path, "simple")
    lines = (folder / "observations.csv").read_text(encoding="utf-8").splitlines()
    lines.insert(8, lines[3])  # data row 3 again, as data row 8
    (folder / "observations.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = _rows(_summary(folder))
    assert rows == [
        (
            "observations.csv",
            8,
            "seq",
            "duplicate key subject_id='MSC2-001', category='laboratory', seq='3' (first at row 3)",
        )
    ]


def test_duplicate_subject_names_the_first_row(tmp_path: Path) -> None:
    folder = _layout(tmp_path, "simple")
    lines = (folder / "participants.csv").read_text(encoding="utf-8").splitlines()
    lines.append(lines[2])
    (folder / "participants.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = _rows(_summary(folder))
    assert rows[0] == ("participants.csv", 33, "subject_id", "duplicate key subject_id='MSC2-002' (first at row 2)")


def test_duplicate_far_from_the_first_names_the_first_row(tmp_path: Path) -> None:
    """Rows of one subject far apart (its keys already in the hash runs): the first row is still named."""
    folder = _layout(tmp_path, "sdtm")
    lines = ["USUBJID,LBSEQ,LBTESTCD,LBSTRESN"]
    for seq in range(1, 40):
        lines += [f"MSC2-001,{seq},WBC,1", f"MSC2-002,{seq},WBC,1"]
    lines.append("MSC2-001,17,WBC,1")  # row 79: same key as row 33
    (folder / "lb.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = read_participants(folder, on_error="collect")
    rejected = [m for m in data.measurements if not hasattr(m, "subject_id")]
    assert [(r.source.row, r.reason) for r in rejected] == [  # type: ignore[union-attr]
        (79, "duplicate key USUBJID='MSC2-001', LBSEQ='17' (first at row 33)")
    ]


def test_duplicate_qualifier_names_the_first_row(tmp_path: Path) -> None:
    folder = _layout(tmp_path, "sdtm")
    supp = ["STUDYID,RDOMAIN,USUBJID,IDVAR,IDVARVAL,QNAM,QLABEL,QVAL"]
    supp += [f"S,LB,MSC2-001,LBSEQ,{seq},LBX,X,{seq}" for seq in (1, 2)]
    supp.append("S,LB,MSC2-001,LBSEQ,1,LBX,X,again")
    (folder / "supplb.csv").write_text("\n".join(supp) + "\n", encoding="utf-8")
    reasons = [r.reason for r in _summary(folder).rejections]
    assert reasons == ["duplicate qualifier LBX for MSC2-001 LBSEQ=1 (first at row 1)"]


def test_subject_in_two_participant_files_names_the_first(tmp_path: Path) -> None:
    """Two participant files (a spec may list several): the pipeline's own duplicate check names both."""
    spec = tmp_path / "spec.yaml"
    text = (Path(__file__).parent.parent / "mappings" / "specs" / "simple-csv.yaml").read_text(encoding="utf-8")
    spec.write_text(
        text.replace("files: [participants]\n    required: true", "files: [participants, more]\n    required: true", 1),
        encoding="utf-8",
    )
    folder = _layout(tmp_path, "simple")
    lines = (folder / "participants.csv").read_text(encoding="utf-8").splitlines()
    (folder / "more.csv").write_text("\n".join([lines[0], lines[2]]) + "\n", encoding="utf-8")
    summary = ParticipantSummary()
    data = read_participants(folder, spec=spec, on_error="collect")
    list(convert_participants(data, STUDY, FhirVersion.R4, summary=summary, on_error="collect"))
    assert _rows(summary) == [
        ("participants.csv", 2, "subject_id", "duplicate subject 'MSC2-002' (first at more.csv row 1)")
    ]
